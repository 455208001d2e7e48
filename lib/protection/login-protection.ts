import type { FastifyRequest } from 'fastify'
import { throttledError, type LoginThrottle } from './login-throttle.js'
import type { SecurityEventReason, SecurityEvents } from './security-events.js'

/** One password check, as the login paths (token endpoint, HTTP Basic, HTTP Digest) see it. */
export interface LoginAttempt {
  readonly request: FastifyRequest
  /** The username as presented (counted, never emitted). */
  readonly username: string
  /** The OAuth client, when one identified itself. */
  readonly clientId: string | null
  readonly mechanism: 'password_grant' | 'http_basic' | 'http_digest'
}

/** Why a login failed (the `reason` of `authn_login_fail`). */
export type LoginFailureReason = Extract<SecurityEventReason, 'unknown_user' | 'wrong_password' | 'account_disabled' | 'invalid_credentials'>

/**
 * Throttling and security events around every password check. The three calls
 * bracket the check: `beforeLogin` first (before any user lookup or hashing),
 * then exactly one of `loginFailed` / `loginSucceeded`.
 */
export interface LoginProtection {
  /** Throws `FST_OAUTH2_LOGIN_THROTTLED` (429, `Retry-After`) and emits `authn_login_lock` when the attempt must wait. */
  beforeLogin (attempt: LoginAttempt): Promise<void>
  /** Counts the failure and emits `authn_login_fail`. */
  loginFailed (attempt: LoginAttempt, userId: string | null, reason: LoginFailureReason): Promise<void>
  /** Clears the (username, address) count and emits `authn_login_success`. */
  loginSucceeded (attempt: LoginAttempt, userId: string | null): Promise<void>
}

/** Builds the protection; `throttle` is `null` when throttling is off (events are still emitted). */
export function createLoginProtection (throttle: LoginThrottle | null, events: SecurityEvents): LoginProtection {
  return {
    async beforeLogin (attempt) {
      const refusal = await throttle?.check(attempt.username, attempt.request.ip) ?? null
      if (refusal === null) return
      events(attempt.request, {
        event: 'authn_login_lock',
        reason: refusal.limit === 'address' ? 'throttled_address' : 'throttled_username_address',
        mechanism: attempt.mechanism,
        clientId: attempt.clientId
      })
      throw throttledError(refusal)
    },
    async loginFailed (attempt, userId, reason) {
      events(attempt.request, { event: 'authn_login_fail', reason, mechanism: attempt.mechanism, clientId: attempt.clientId, userId })
      await throttle?.recordFailure(attempt.username, attempt.request.ip)
    },
    async loginSucceeded (attempt, userId) {
      await throttle?.recordSuccess(attempt.username, attempt.request.ip)
      events(attempt.request, { event: 'authn_login_success', reason: 'valid_credentials', mechanism: attempt.mechanism, clientId: attempt.clientId, userId })
    }
  }
}
