import { TokenFrequency } from './token-frequency.js'

/** How long a verified token may be served from memory at most, whatever its `exp`. */
const MAX_CACHE_LIFETIME_MS = 10 * 60 * 1000

interface Entry<T> {
  readonly token: string
  readonly value: T
  /** Epoch ms before which the token is not valid yet (`nbf`). */
  readonly notBefore: number
  /** Epoch ms from which the entry is gone (`exp`, or the cache lifetime). */
  readonly expiresAt: number
}

/**
 * Remembers verified tokens so a repeat costs a map lookup instead of a signature
 * check. Keyed by the token string itself: no hash to compute, no collision
 * possible. Failures are never stored. Every operation costs the same whatever
 * the size, so a cache sized for every active user costs no more per request
 * than a small one.
 *
 * Replacement is TinyLFU's (Einziger, Friedman, Manes, 2017) over a ring: when
 * the cache is full, a newly verified token takes the place of the next entry in
 * the ring only if it is used more often (by a small frequency sketch of valid
 * tokens); otherwise that entry stays and the ring moves on. With more active
 * tokens than room, the cache therefore keeps a fixed share of them, each hit
 * every time it comes back, instead of pushing every entry out before its token
 * returns (a plain first-in-first-out or least-recently-used cache then hits
 * nothing); tokens used often displace those used rarely; and tokens rejected at
 * the door are never stored, so they leave no garbage to promote.
 */
export class VerifiedTokenCache<T> {
  readonly #entries = new Map<string, Entry<T>>()
  // Grows to maxEntries as tokens arrive; then slot #next holds the entry considered for replacement next,
  // and passing a slot makes its entry the newest
  readonly #ring: Array<Entry<T>> = []
  readonly #maxEntries: number
  readonly #frequency: TokenFrequency
  #next = 0

  /** `maxEntries`: how many tokens are kept at most; 0 stores nothing. */
  constructor (maxEntries: number) {
    this.#maxEntries = maxEntries
    this.#frequency = new TokenFrequency(maxEntries)
  }

  /** The verified value of `token` if it is cached and valid at `now`. */
  get (token: string, now: number): T | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.expiresAt) {
      this.#entries.delete(token)
      return undefined
    }
    if (now < entry.notBefore) return undefined
    this.#frequency.add(token)
    return entry.value
  }

  /** Records a use of a token verified just now, and stores it, valid from `notBefore` until `expiresAt` (both epoch ms), if admitted. */
  set (token: string, value: T, notBefore: number, expiresAt: number, now: number): void {
    if (this.#maxEntries === 0) return
    this.#frequency.add(token)
    const slot = this.#ring.length < this.#maxEntries ? this.#ring.length : this.#turn()
    const incumbent = this.#ring[slot]
    if (incumbent !== undefined && this.#isLive(incumbent, now)) {
      // The incumbent keeps its place (and becomes the newest) unless the newcomer is used more often
      if (this.#frequency.estimate(token) <= this.#frequency.estimate(incumbent.token)) return
      this.#entries.delete(incumbent.token)
    }
    const entry = { token, value, notBefore, expiresAt: Math.min(expiresAt, now + MAX_CACHE_LIFETIME_MS) }
    this.#ring[slot] = entry
    this.#entries.set(token, entry)
  }

  // The slot to offer next, once the ring is full; the one after it becomes the oldest
  #turn (): number {
    const slot = this.#next
    this.#next = (slot + 1) % this.#maxEntries
    return slot
  }

  // An entry still served: not replaced in the map (a token stored again has a newer slot) and not expired
  #isLive (entry: Entry<T>, now: number): boolean {
    if (this.#entries.get(entry.token) !== entry) return false
    if (now < entry.expiresAt) return true
    this.#entries.delete(entry.token)
    return false
  }
}
