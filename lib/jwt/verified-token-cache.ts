import { FrequencySketch } from './frequency-sketch.js'

/** How long a verified token may be served from memory at most, whatever its `exp`. */
const MAX_CACHE_LIFETIME_MS = 10 * 60 * 1000

// Fingerprints keep to 30 bits, V8's small integers: a map keyed by them compares keys without loading anything
const FINGERPRINT_MASK = 0x3fffffff
// The characters a fingerprint reads: the end of the signature
const FINGERPRINT_CHARACTERS = 8

/**
 * The cache's key for a token, and the frequency sketch's: FNV-1a over its last
 * characters, a verified token's signature, which nobody without the key can
 * choose, so fingerprints spread evenly whoever chose the rest of the token. A
 * non-negative 30-bit integer.
 */
export function tokenFingerprint (token: string): number {
  let hash = 0x811c9dc5
  for (let index = Math.max(0, token.length - FINGERPRINT_CHARACTERS); index < token.length; index++) hash = Math.imul(hash ^ token.charCodeAt(index), 0x01000193)
  return hash & FINGERPRINT_MASK
}

interface Entry<T> {
  readonly token: string
  readonly fingerprint: number
  readonly value: T
  /** Epoch ms before which the token is not valid yet (the later of `iat` and `nbf`, less the clock tolerance). */
  readonly notBefore: number
  /** Epoch ms from which the entry is gone (`exp`, or the cache lifetime). */
  readonly expiresAt: number
  /** Its place in the ring. */
  readonly slot: number
}

/**
 * Remembers verified tokens so a repeat costs a map lookup instead of a signature
 * check. Keyed by the token's fingerprint, a small integer: a lookup, a miss
 * included, compares integers held in the map itself, where a map keyed by the
 * token strings loads from memory each string it walks past, a cost every first
 * sight of a large cache paid. A hit is then confirmed on the whole token, so a
 * token is only ever served its own verification; two tokens that share a
 * fingerprint take turns in one entry. Failures are never stored. A lookup or a
 * store costs the same whatever the size (the sketch's reset, a pass over its
 * counters, comes once per ten stores per entry), so a cache sized for every
 * active user costs no more per request than a small one.
 *
 * Replacement is TinyLFU's (Einziger, Friedman, Manes, 2017) over a ring, as
 * `util/bounded-map.ts` keeps its order: when the cache is full, a newly verified
 * token (the candidate) takes the place of the ring's next entry (the victim) only
 * if the frequency sketch says it is used more often; otherwise the victim stays,
 * becomes the newest, and the ring moves on. With more active tokens than room the
 * cache keeps a fixed share of them, each a hit every time it comes back, where a
 * first-in-first-out or least-recently-used cache would push every entry out before
 * its token returns and hit nothing; tokens used often displace those used rarely;
 * and candidates turned away are never stored, so they leave no garbage to promote.
 */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<number, Entry<T>>()
  // Grows to maxEntries as tokens arrive; then #hand is the slot of the next victim
  readonly #ring: Array<Entry<T>> = []
  readonly #maxEntries: number
  readonly #sketch: FrequencySketch
  #hand = 0

  /** `maxEntries`: how many tokens are kept at most; 0 stores nothing. */
  constructor (maxEntries: number) {
    this.#maxEntries = maxEntries
    this.#sketch = new FrequencySketch(maxEntries)
  }

  /** How many tokens are cached: at most `maxEntries`. */
  get size (): number {
    return this.#entries.size
  }

  /** The verified value of `token` if it is cached and valid at `now`. */
  get (token: string, now: number): T | undefined {
    const fingerprint = tokenFingerprint(token)
    const entry = this.#entries.get(fingerprint)
    if (entry === undefined || entry.token !== token) return undefined
    if (now >= entry.expiresAt) {
      this.#entries.delete(fingerprint)
      return undefined
    }
    if (now < entry.notBefore) return undefined
    this.#sketch.increment(fingerprint)
    return entry.value
  }

  /**
   * Records a use of a token verified just now and stores it, valid from `notBefore`
   * until `expiresAt` (both epoch ms): in the slot of its fingerprint's entry when
   * there is one (its own, or that of a token with the same fingerprint), else in a
   * free slot, else in the victim's if admitted.
   */
  set (token: string, value: T, notBefore: number, expiresAt: number, now: number): void {
    if (this.#maxEntries === 0) return
    const fingerprint = tokenFingerprint(token)
    this.#sketch.increment(fingerprint)
    const slot = this.#entries.get(fingerprint)?.slot ?? this.#freeOrVictimSlot(fingerprint, now)
    if (slot === undefined) return
    const entry = { token, fingerprint, value, notBefore, expiresAt: Math.min(expiresAt, now + MAX_CACHE_LIFETIME_MS), slot }
    this.#ring[slot] = entry
    this.#entries.set(fingerprint, entry)
  }

  // A slot for a candidate: the next one while the ring grows, else the victim's if it is stale, expired or used less
  #freeOrVictimSlot (candidate: number, now: number): number | undefined {
    if (this.#ring.length < this.#maxEntries) return this.#ring.length
    const slot = this.#hand
    this.#hand = (slot + 1) % this.#maxEntries
    const victim = this.#ring[slot] as Entry<T>
    // A victim no longer in the map (expired and looked up since, its fingerprint perhaps another token's now) leaves its slot free
    if (this.#entries.get(victim.fingerprint) !== victim) return slot
    if (now < victim.expiresAt && this.#sketch.frequency(candidate) <= this.#sketch.frequency(victim.fingerprint)) return undefined
    this.#entries.delete(victim.fingerprint)
    return slot
  }
}
