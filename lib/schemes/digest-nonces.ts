import { Buffer } from 'node:buffer'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Nonce-counts kept where every instance sees them (a `TokenStore` has this method):
 * `true` the first time `nonceCount` is used with `nonce`, `false` for a replay or a
 * count the store cannot vouch for. Times in ms since the epoch.
 */
export interface SharedNonceCounts {
  useNonceCount (nonce: string, nonceCount: number, issuedAt: number, expiresAt: number, now: number): Promise<boolean>
}

/** Options of {@link createDigestNonces}. */
export interface DigestNonceOptions {
  /** How long a nonce is accepted, in milliseconds. */
  readonly ttlMs: number
  /** HMAC key of the nonces: share it between instances that must accept each other's nonces. Random by default. */
  readonly secret?: Buffer
  /** How many used nonces to remember for replay detection. */
  readonly maxTracked: number
  /** Clock, for tests. */
  readonly now?: () => number
}

/** What a nonce check found. */
export type NonceCheck =
  /** Issued here and still fresh; `nc` not seen before. */
  | 'valid'
  /** Issued here but expired, or `nc` already used: the client should retry with a new nonce (RFC 7616 §3.3 `stale`). */
  | 'stale'

/** Server nonces of the Digest scheme: issue, authenticate, and check expiry and replays. */
export interface DigestNonces {
  /** A fresh nonce: issue time, random bytes and their HMAC, base64url. */
  issue (): string
  /** When this server issued `nonce` (ms since the epoch), or `null` when it did not (HMAC checked in constant time). */
  issuedAt (nonce: string): number | null
  /**
   * Records one use of a nonce issued at `issuedAt` with nonce-count `nc`, once the
   * response it came with is verified. `'stale'` when it expired or `nc` was used before.
   */
  use (nonce: string, issuedAt: number, nc: number): NonceCheck
}

interface Usage {
  readonly issuedAt: number
  /** Highest nonce-count seen. */
  highest: number
  /** Bit i set: nonce-count `highest - i` was seen (a window, so concurrent requests may arrive out of order). */
  window: number
}

const ISSUED_BYTES = 8
const RANDOM_BYTES = 12
const MAC_BYTES = 16
// base64url of 36 bytes: 48 characters, no padding
const NONCE = /^[A-Za-z0-9_-]{48}$/
// Requests on one nonce may overtake each other (HTTP/2, several connections): accept the last 32 counts in any order
const WINDOW = 32

/**
 * Creates the nonce source of one Digest scheme. Nonces are stateless to check
 * (issue time + HMAC), so issuing one per challenge costs no memory; only nonces
 * that authenticated a request are remembered, with their nonce-counts (RFC 7616
 * §3.4: `nc` lets the server detect replays), until they expire. When the table is
 * full the oldest entry goes and every nonce issued up to it counts as stale, so a
 * forgotten nonce is never accepted again.
 */
export function createDigestNonces (options: DigestNonceOptions): DigestNonces {
  const secret = options.secret ?? randomBytes(32)
  const now = options.now ?? Date.now
  const used = new Map<string, Usage>()
  // Nonces issued at or before this instant may have been forgotten: they are stale unless still tracked
  let forgottenUpTo = -Infinity

  function mac (payload: Buffer): Buffer {
    return createHmac('sha256', secret).update(payload).digest().subarray(0, MAC_BYTES)
  }

  function forgetExpired (at: number): void {
    for (const [nonce, usage] of used) {
      if (usage.issuedAt + options.ttlMs < at) used.delete(nonce)
    }
  }

  function track (nonce: string, issuedAt: number, at: number): Usage | null {
    if (issuedAt <= forgottenUpTo) return null
    if (used.size >= options.maxTracked) forgetExpired(at)
    if (used.size >= options.maxTracked) {
      const [oldest, usage] = used.entries().next().value as [string, Usage]
      used.delete(oldest)
      forgottenUpTo = Math.max(forgottenUpTo, usage.issuedAt)
      if (issuedAt <= forgottenUpTo) return null
    }
    const usage: Usage = { issuedAt, highest: 0, window: 0 }
    used.set(nonce, usage)
    return usage
  }

  // RFC 7616 §3.4: a nonce-count seen before means a replayed request
  function count (usage: Usage, nc: number): boolean {
    if (nc > usage.highest) {
      const shift = nc - usage.highest
      usage.window = shift >= WINDOW ? 1 : ((usage.window << shift) | 1) >>> 0
      usage.highest = nc
      return true
    }
    const age = usage.highest - nc
    const bit = age < WINDOW ? (1 << age) >>> 0 : 0
    if (bit === 0 || (usage.window & bit) !== 0) return false
    usage.window = (usage.window | bit) >>> 0
    return true
  }

  return {
    issue () {
      const payload = Buffer.alloc(ISSUED_BYTES + RANDOM_BYTES)
      payload.writeBigUInt64BE(BigInt(now()), 0)
      randomBytes(RANDOM_BYTES).copy(payload, ISSUED_BYTES)
      return Buffer.concat([payload, mac(payload)]).toString('base64url')
    },
    issuedAt (nonce) {
      // A tracked nonce passed this check when it was first used: no HMAC for the requests that follow
      const known = used.get(nonce)
      if (known !== undefined) return known.issuedAt
      if (!NONCE.test(nonce)) return null
      const bytes = Buffer.from(nonce, 'base64url')
      const payload = bytes.subarray(0, ISSUED_BYTES + RANDOM_BYTES)
      if (!timingSafeEqual(mac(payload), bytes.subarray(ISSUED_BYTES + RANDOM_BYTES))) return null
      return Number(bytes.readBigUInt64BE(0))
    },
    use (nonce, issuedAt, nc) {
      const at = now()
      if (issuedAt + options.ttlMs < at) return 'stale'
      const usage = used.get(nonce) ?? track(nonce, issuedAt, at)
      return usage !== null && count(usage, nc) ? 'valid' : 'stale'
    }
  }
}
