import { BoundedMap } from '../util/bounded-map.js'

/** How long a verified token may be served from memory at most, whatever its `exp`. */
const MAX_CACHE_LIFETIME_MS = 10 * 60 * 1000

// Lookups per admission decision, and the share of hits below which the cache stops storing every token
const WINDOW = 1024
const MIN_HIT_SHARE = 1 / 8
// Slots of the table of recently seen tokens, per cache entry (a power of two in all, 4 MiB at most)
const SEEN_SLOTS_PER_ENTRY = 4
const MAX_SEEN_SLOTS = 2 ** 20

interface Entry<T> {
  readonly value: T
  /** Epoch ms before which the token is not valid yet (`nbf`). */
  readonly notBefore: number
  /** Epoch ms from which the entry is gone (`exp`, or the cache lifetime). */
  readonly expiresAt: number
}

// FNV-1a over the last characters: the token's signature, unpredictable to anyone without the key, so
// fingerprints spread evenly; a collision only admits a token one sighting early. Odd, as 0 marks an empty slot.
function fingerprint (token: string): number {
  let hash = 0x811c9dc5
  for (let index = Math.max(0, token.length - 8); index < token.length; index++) hash = Math.imul(hash ^ token.charCodeAt(index), 0x01000193)
  return hash | 1
}

/**
 * Remembers verified tokens so a repeat costs a map lookup instead of a signature
 * check. Keyed by the token string itself: no hash to compute, no collision
 * possible. Failures are never stored; the oldest entry makes room for a new one,
 * at a constant cost whatever the size, so a cache sized for every active user
 * costs no more per request than a small one.
 *
 * Admission adapts to the traffic: while at least one lookup in eight hits, every
 * verified token is stored. When far more distinct tokens arrive than the cache
 * holds, an entry would be pushed out before its token comes back, and storing it
 * would only keep garbage alive through young-generation collections; the cache
 * then stores a token on its second verification within a window of recently seen
 * ones (a "doorkeeper", as in TinyLFU), until hits come back.
 */
export class VerifiedTokenCache<T> {
  readonly #entries: BoundedMap<string, Entry<T>>
  readonly #seen: Int32Array
  #lookups = 0
  #hits = 0
  #selective = false

  constructor (maxEntries: number) {
    this.#entries = new BoundedMap(maxEntries)
    this.#seen = new Int32Array(Math.min(MAX_SEEN_SLOTS, 2 ** Math.ceil(Math.log2(Math.max(1, maxEntries * SEEN_SLOTS_PER_ENTRY)))))
  }

  /** The verified value of `token` if it is cached and valid at `now`. */
  get (token: string, now: number): T | undefined {
    const entry = this.#entries.get(token)
    const value = entry === undefined || now < entry.notBefore || now >= entry.expiresAt ? undefined : entry.value
    if (entry !== undefined && now >= entry.expiresAt) this.#entries.delete(token)
    this.#count(value !== undefined)
    return value
  }

  /** Stores a verified token, valid from `notBefore` until `expiresAt` (both epoch ms), if admitted. */
  set (token: string, value: T, notBefore: number, expiresAt: number, now: number): void {
    if (this.#selective && !this.#seenBefore(token)) return
    this.#entries.set(token, { value, notBefore, expiresAt: Math.min(expiresAt, now + MAX_CACHE_LIFETIME_MS) })
  }

  #count (hit: boolean): void {
    if (hit) this.#hits++
    if (++this.#lookups < WINDOW) return
    this.#selective = this.#hits < WINDOW * MIN_HIT_SHARE
    this.#lookups = 0
    this.#hits = 0
  }

  // Whether the token was offered since its slot was last taken; records it either way
  #seenBefore (token: string): boolean {
    const print = fingerprint(token)
    const slot = print & (this.#seen.length - 1)
    if (this.#seen[slot] === print) return true
    this.#seen[slot] = print
    return false
  }
}
