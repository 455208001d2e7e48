import type { LoginFailureCount } from '../stores/token-store.js'

/**
 * Exponential back-off after a number of free attempts (OWASP Authentication Cheat
 * Sheet, "Protect against automated attacks": throttle rather than lock out;
 * NIST SP 800-63B §5.2.2: rate limiting instead of a permanent lockout).
 */
export interface BackoffPolicy {
  /** Consecutive failures allowed before any delay. */
  readonly freeAttempts: number
  /** Delay after the first failure beyond the free ones (seconds); it doubles with each further failure. */
  readonly baseDelaySeconds: number
  /** The longest delay (seconds). */
  readonly maxDelaySeconds: number
}

/**
 * Milliseconds still to wait at `now` before the next attempt counts, 0 when it may
 * go ahead. With `failures` counted: none while `failures < freeAttempts`, then
 * `min(base × 2^(failures − freeAttempts), max)` seconds after the last failure.
 */
export function backoffWaitMs (policy: BackoffPolicy, count: LoginFailureCount, now: number): number {
  const beyond = count.failures - policy.freeAttempts
  if (beyond < 0) return 0
  // 2^beyond overflows nothing useful past 2^52; the cap applies long before
  const delaySeconds = Math.min(policy.baseDelaySeconds * 2 ** Math.min(beyond, 52), policy.maxDelaySeconds)
  return Math.max(0, count.lastFailureAt + delaySeconds * 1000 - now)
}
