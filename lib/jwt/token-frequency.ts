// Counters per cache entry (a power of two in all), the most a counter holds, and the additions between agings per entry
const COUNTERS_PER_ENTRY = 4
const MIN_COUNTERS = 2 ** 12
const MAX_COUNTERS = 2 ** 22
const MAX_COUNT = 15
const SAMPLE_PER_ENTRY = 10

// FNV-1a over the last characters: a verified token's signature, unpredictable to anyone without the key, so
// fingerprints spread evenly whoever chose the rest of the token
function fingerprint (token: string): number {
  let hash = 0x811c9dc5
  for (let index = Math.max(0, token.length - 8); index < token.length; index++) hash = Math.imul(hash ^ token.charCodeAt(index), 0x01000193)
  return hash
}

/**
 * How often each token was used lately, approximately: a count-min sketch of
 * 4-bit counters with two cells per token and conservative update (a cell grows
 * only while it is the token's minimum), halved every ten additions per cache
 * entry so that old popularity fades (TinyLFU's "reset"). It overestimates
 * only, by collisions, and costs the same whatever the number of tokens: about
 * 4 bytes per cache entry, 4 KiB at least and 4 MiB at most.
 */
export class TokenFrequency {
  readonly #counters: Uint8Array
  readonly #mask: number
  readonly #sampleSize: number
  #additions = 0

  /** `maxEntries`: the size of the cache the sketch serves. */
  constructor (maxEntries: number) {
    this.#counters = new Uint8Array(Math.min(MAX_COUNTERS, 2 ** Math.ceil(Math.log2(Math.max(MIN_COUNTERS, maxEntries * COUNTERS_PER_ENTRY)))))
    this.#mask = this.#counters.length - 1
    this.#sampleSize = Math.max(16, maxEntries) * SAMPLE_PER_ENTRY
  }

  /** Counts one use of `token`. */
  add (token: string): void {
    const hash = fingerprint(token)
    const first = hash & this.#mask
    const second = rehash(hash) & this.#mask
    const count = Math.min(this.#counters[first], this.#counters[second])
    if (count < MAX_COUNT) {
      if (this.#counters[first] === count) this.#counters[first]++
      if (this.#counters[second] === count) this.#counters[second]++
    }
    if (++this.#additions >= this.#sampleSize) this.#age()
  }

  /** The uses of `token` counted since the last agings, halved once per aging: at most 15. */
  estimate (token: string): number {
    const hash = fingerprint(token)
    return Math.min(this.#counters[hash & this.#mask], this.#counters[rehash(hash) & this.#mask])
  }

  #age (): void {
    for (let index = 0; index < this.#counters.length; index++) this.#counters[index] >>= 1
    this.#additions = 0
  }
}

// A second cell index from the same fingerprint: the high bits mixed down (MurmurHash3's finaliser)
function rehash (hash: number): number {
  let mixed = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35)
  return mixed ^ (mixed >>> 16)
}
