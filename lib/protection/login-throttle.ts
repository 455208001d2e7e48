import type { FastifyBaseLogger } from 'fastify'
import { LoginThrottledError, withRefusalHeaders } from '../errors.js'
import { callStore, type LoginFailureCounts, type LoginFailureKeys, type TokenStore } from '../stores/token-store.js'
import { sha256 } from '../util/sha256.js'
import { backoffWaitMs, type BackoffPolicy } from './backoff.js'
import { throttledAddress } from './client-address.js'

/** Resolved `throttling` option (see the README, "Login throttling"). */
export interface ThrottlingSettings {
  /** Whether failed logins are counted and throttled. */
  readonly enabled: boolean
  /** Back-off per (username, client address): limits guesses at one account from one place. */
  readonly perUsernameAndAddress: BackoffPolicy
  /** Back-off per client address: limits credential stuffing (many usernames) from one place. */
  readonly perAddress: BackoffPolicy
  /** A counter is forgotten this long after its last failure (seconds). */
  readonly windowSeconds: number
  /** When the store cannot answer: refuse with 503 (`'fail-closed'`) or check the password unthrottled (`'fail-open'`). */
  readonly onStoreError: 'fail-closed' | 'fail-open'
  /** Clock (ms since the epoch). */
  readonly now: () => number
}

/** Which limit refused an attempt. */
export type ThrottleLimit = 'username_address' | 'address'

/** A refused attempt: how long to wait, and which limit refused. */
export interface ThrottleRefusal {
  readonly retryAfterSeconds: number
  readonly limit: ThrottleLimit
}

/** Counts failed logins in the TokenStore and says when an attempt must wait. */
export interface LoginThrottle {
  /** The refusal when this attempt must wait, else `null`. Reads the store only. */
  check (username: string, ip: string): Promise<ThrottleRefusal | null>
  /** Counts one failed password check. */
  recordFailure (username: string, ip: string): Promise<void>
  /** Forgets the pair's failures after a successful login (the address's count stays). */
  recordSuccess (username: string, ip: string): Promise<void>
}

/** The 429 of a refused attempt, with `Retry-After` in seconds (RFC 6585 §4, RFC 9110 §10.2.3). */
export function throttledError (refusal: ThrottleRefusal): Error {
  return withRefusalHeaders(new LoginThrottledError(), { 'retry-after': String(refusal.retryAfterSeconds) })
}

// Digests, so the store never holds a username or an address in clear.
// Usernames are compared case-insensitively here: "Alice" and "alice" share a counter (stricter, never looser)
function failureKeys (username: string, ip: string): LoginFailureKeys {
  const address = throttledAddress(ip)
  return {
    address: sha256(`address\0${address}`, 'hex'),
    pair: sha256(`pair\0${address}\0${username.normalize('NFC').toLowerCase()}`, 'hex')
  }
}

function refusalOf (settings: ThrottlingSettings, counts: LoginFailureCounts, now: number): ThrottleRefusal | null {
  const pairWait = backoffWaitMs(settings.perUsernameAndAddress, counts.pair, now)
  const addressWait = backoffWaitMs(settings.perAddress, counts.address, now)
  const wait = Math.max(pairWait, addressWait)
  if (wait === 0) return null
  return { retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)), limit: pairWait >= addressWait ? 'username_address' : 'address' }
}

/**
 * The login throttle over `store`. Store failures follow `onStoreError`: fail-closed
 * answers 503 `temporarily_unavailable` with `Retry-After: 1`; fail-open logs and lets
 * the attempt through unthrottled. Clearing after a success never fails a login
 * (a count left behind only throttles sooner).
 */
export function createLoginThrottle (store: TokenStore, settings: ThrottlingSettings, log: FastifyBaseLogger): LoginThrottle {
  const windowMs = settings.windowSeconds * 1000

  async function guarded<T> (operation: () => Promise<T>, fallback: T): Promise<T> {
    if (settings.onStoreError === 'fail-closed') return await callStore(operation, log)
    try {
      return await operation()
    } catch (err) {
      log.error({ err }, 'fastify-oauth2-password: token store unavailable; login throttling skipped (fail-open)')
      return fallback
    }
  }

  return {
    async check (username, ip) {
      const now = settings.now()
      const keys = failureKeys(username, ip)
      const counts = await guarded(() => store.loginFailures(keys, now), null)
      return counts === null ? null : refusalOf(settings, counts, now)
    },
    async recordFailure (username, ip) {
      const keys = failureKeys(username, ip)
      await guarded(() => store.recordLoginFailure(keys, settings.now(), windowMs), null)
    },
    async recordSuccess (username, ip) {
      try {
        await store.clearLoginFailures(failureKeys(username, ip))
      } catch (err) {
        log.error({ err }, 'fastify-oauth2-password: token store unavailable; login failures not cleared')
      }
    }
  }
}
