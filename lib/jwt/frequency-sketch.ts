// Counters per cache entry (a power of two in all, between the two bounds): 16 keep the estimates apart
// with several times more tokens in use than the cache holds. A counter holds 15 at most, and all are
// halved after ten real increments per cache entry
const COUNTERS_PER_ENTRY = 16
const MIN_COUNTERS = 2 ** 12
const MAX_COUNTERS = 2 ** 22
const MAX_COUNT = 15
const SAMPLE_PER_ENTRY = 10

// A second cell index from the same fingerprint: the high bits mixed down (MurmurHash3's finaliser)
function rehash (hash: number): number {
  let mixed = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b)
  mixed = Math.imul(mixed ^ (mixed >>> 13), 0xc2b2ae35)
  return mixed ^ (mixed >>> 16)
}

function counterCount (maxEntries: number): number {
  return Math.min(MAX_COUNTERS, 2 ** Math.ceil(Math.log2(Math.max(MIN_COUNTERS, maxEntries * COUNTERS_PER_ENTRY))))
}

/**
 * How often each token was used lately, approximately, counted by its fingerprint
 * (tokens that share one share their counts): TinyLFU's frequency sketch
 * (Einziger, Friedman, Manes, 2017), a count-min sketch with two cells per
 * fingerprint, each a byte capped at 15, and conservative update (a cell grows
 * only while it is the fingerprint's minimum). After ten real increments per cache
 * entry every count is halved (the "reset"), so old popularity fades; a use of a
 * fingerprint already at 15 changes nothing and brings the reset no closer, so
 * hammering one token cannot age everyone else's counts. It overestimates only, by
 * collisions: 16 bytes per cache entry, 4 KiB at least and 4 MiB at most.
 */
export class FrequencySketch {
  readonly #counters: Uint8Array
  readonly #mask: number
  readonly #sampleSize: number
  #increments = 0

  /** `maxEntries`: the size of the cache the sketch serves. */
  constructor (maxEntries: number) {
    this.#counters = new Uint8Array(counterCount(maxEntries))
    this.#mask = this.#counters.length - 1
    this.#sampleSize = Math.max(16, maxEntries) * SAMPLE_PER_ENTRY
  }

  /** Counts one use of the token whose fingerprint, any 32-bit integer hash, is `hash`. */
  increment (hash: number): void {
    const first = hash & this.#mask
    const second = rehash(hash) & this.#mask
    const count = Math.min(this.#counters[first] as number, this.#counters[second] as number)
    if (count >= MAX_COUNT) return
    if (this.#counters[first] === count) this.#counters[first]++
    if (this.#counters[second] === count) this.#counters[second]++
    if (++this.#increments >= this.#sampleSize) this.#reset()
  }

  /** The uses of the token whose fingerprint is `hash` counted lately: at most 15, halved at each reset. */
  frequency (hash: number): number {
    return Math.min(this.#counters[hash & this.#mask] as number, this.#counters[rehash(hash) & this.#mask] as number)
  }

  #reset (): void {
    for (let index = 0; index < this.#counters.length; index++) this.#counters[index] = (this.#counters[index] as number) >> 1
    this.#increments = 0
  }
}
