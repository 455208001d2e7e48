import { BoundedMap } from '../util/bounded-map.js'

/** How long a verified token may be served from memory at most, whatever its `exp`. */
const MAX_CACHE_LIFETIME_MS = 10 * 60 * 1000

interface Entry<T> {
  readonly value: T
  /** Epoch ms before which the token is not valid yet (`nbf`). */
  readonly notBefore: number
  /** Epoch ms from which the entry is gone (`exp`, or the cache lifetime). */
  readonly expiresAt: number
}

/**
 * Remembers verified tokens so a repeat costs a map lookup instead of a signature
 * check. Keyed by the token string itself: no hash to compute, no collision
 * possible. Failures are never stored; the oldest entry makes room for a new one,
 * at a constant cost whatever the size, so a cache sized for every active user
 * costs no more per request than a small one.
 */
export class VerifiedTokenCache<T> {
  readonly #entries: BoundedMap<string, Entry<T>>

  constructor (maxEntries: number) {
    this.#entries = new BoundedMap(maxEntries)
  }

  /** The verified value of `token` if it is cached and valid at `now`. */
  get (token: string, now: number): T | undefined {
    const entry = this.#entries.get(token)
    if (entry === undefined) return undefined
    if (now >= entry.expiresAt) {
      this.#entries.delete(token)
      return undefined
    }
    return now < entry.notBefore ? undefined : entry.value
  }

  /** Stores a verified token, valid from `notBefore` until `expiresAt` (both epoch ms). */
  set (token: string, value: T, notBefore: number, expiresAt: number, now: number): void {
    this.#entries.set(token, { value, notBefore, expiresAt: Math.min(expiresAt, now + MAX_CACHE_LIFETIME_MS) })
  }
}
