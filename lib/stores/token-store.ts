import type { FastifyBaseLogger } from 'fastify'
import { TemporarilyUnavailableError, withRefusalHeaders } from '../errors.js'
import { loggableError } from '../util/loggable-error.js'

/**
 * The server-side state of refresh tokens and revocations, behind one small
 * interface so one process can keep it in memory and many instances can share
 * it in Redis.
 *
 * Rules every store follows (the conformance suite in `test/stores/` checks them):
 * - Times are milliseconds since the epoch, passed in by the caller (`now`), so
 *   expiry means the same thing in every store and every test. A store may also
 *   drop an entry physically once it has expired (Redis `PEXPIRE`, memory sweeps).
 * - Nothing secret is stored: families are keyed by a hash of the handle inside
 *   the refresh token, and tokens are kept as SHA-256 hashes.
 * - `rotate` is atomic: of any number of concurrent calls presenting the same
 *   token, at most one answers `'rotated'`, on every instance sharing the store.
 * - Every write is safe to repeat after a failure whose outcome is unknown: revocations
 *   are idempotent, and a rotation is repeatable until confirmed (`'repeated'`).
 * - Revocations are monotonic: nothing un-revokes a token, a family or a user's
 *   not-before time before the `retainUntil` the caller gave.
 * - Any rejection means "the store is unavailable"; the plugin answers 503 and
 *   never leaves a family half-written (every method changes state in one step).
 */

/** A refresh-token family: the chain of refresh tokens born from one login. */
export interface RefreshTokenFamily {
  /** Store key of the family (a hash of the handle in the token); access tokens carry it as `sid`. */
  readonly id: string
  /** The user the tokens are for (`sub`). */
  readonly userId: string
  /** The client the tokens were issued to, `null` when no client identified itself. */
  readonly clientId: string | null
  /** Space-delimited scope granted at login: the most any refresh may ask for (RFC 6749 §6). */
  readonly scope: string
  /** When the login happened (ms). */
  readonly issuedAt: number
  /** Absolute end of the family (ms): no refresh after it, however active the client. */
  readonly expiresAt: number
}

/** A family as it is created: with its first token and its first idle deadline. */
export interface NewRefreshTokenFamily extends RefreshTokenFamily {
  /** SHA-256 hash of the first refresh token. */
  readonly tokenHash: string
  /** Sliding deadline (ms): the family dies when not used before it. At most `expiresAt`. */
  readonly idleExpiresAt: number
}

/** One use of a refresh token. */
export interface RotationRequest {
  readonly familyId: string
  /** The family's user, as `findFamily` returned it (a mismatch answers `'invalid'`). */
  readonly userId: string
  /** Hash of the presented token. */
  readonly tokenHash: string
  /** Hash of the token that replaces it. */
  readonly nextTokenHash: string
  readonly now: number
  /** The new sliding deadline (ms), at most the family's `expiresAt`. */
  readonly idleExpiresAt: number
  /**
   * How long (ms) after a rotation the token it replaced is answered `'superseded'`
   * instead of being treated as reused. 0 (the default policy) disables this grace.
   */
  readonly reuseGrace: number
  /** Until when (ms) to remember the family as revoked if this use turns out to be a reuse. */
  readonly retainUntil: number
  /**
   * The random value `nextTokenHash` was derived from (with the presented token as
   * HMAC key, so the store alone cannot derive the token). Kept until the rotation is
   * confirmed, so a retry of an unconfirmed rotation gets the same successor back.
   */
  readonly successorSeed: string
  /**
   * How long (ms) after an unconfirmed rotation a retry with the token it replaced
   * answers `'repeated'` instead of being a reuse. 0 disables retries.
   */
  readonly retryWindow: number
}

/**
 * A retry of a rotation whose successor was never confirmed as delivered (the
 * answer was lost: a timeout, a dropped connection): the store changed nothing and
 * hands back the seed the caller derives that same successor from.
 */
export interface RepeatedRotation {
  readonly outcome: 'repeated'
  /** The `successorSeed` of the rotation being repeated. */
  readonly successorSeed: string
}

/**
 * What a rotation did.
 * - `rotated`: the presented token was the current one; `nextTokenHash` replaces it.
 * - `reused`: the family is known but the token is not its current one (RFC 9700
 *   §4.14.2): the family has been revoked, and remembered as revoked until `retainUntil`.
 * - `superseded`: the token was replaced less than `reuseGrace` ago; refused, family kept.
 * - `invalid`: no such live family: unknown, expired, revoked, or issued before its
 *   user's not-before time.
 * - {@link RepeatedRotation}: the token was replaced less than `retryWindow` ago and
 *   that rotation is not confirmed yet: the same successor is handed out again.
 */
export type RotationOutcome = 'rotated' | 'reused' | 'superseded' | 'invalid' | RepeatedRotation

/** Which access token to look up. */
export interface AccessTokenQuery {
  /** The token's `jti`. */
  readonly jti: string
  /** The token's `sid` (its refresh-token family), when it has one. */
  readonly familyId: string | undefined
  /** The token's `sub`. */
  readonly userId: string
}

/** What the store knows against an access token. */
export interface AccessTokenStatus {
  /** Whether its `jti` or its family was revoked. */
  readonly revoked: boolean
  /** The user's not-before time (ms): tokens issued before it are revoked. 0 when none. */
  readonly notBefore: number
}

/** Storage for refresh-token families and revocations, and the login-failure counters (below). */
export interface TokenStore extends LoginFailureStore {
  /** Stores a new family with its first token. */
  createFamily (family: NewRefreshTokenFamily): Promise<void>
  /**
   * The family, or `null` when it is unknown, revoked or expired (idle or absolute)
   * at `now`. The user's not-before time is enforced by `rotate`.
   */
  findFamily (familyId: string, now: number): Promise<RefreshTokenFamily | null>
  /** Atomically replaces the family's current token, or detects a reuse (see {@link RotationOutcome}). */
  rotate (request: RotationRequest): Promise<RotationOutcome>
  /**
   * Records that the successor `tokenHash` of a rotation was handed to the client:
   * from now on the token it replaced is a reuse, never a retry (RFC 9700 §4.14.2).
   * Does nothing when `tokenHash` is no longer the family's current token.
   */
  confirmRotation (familyId: string, tokenHash: string): Promise<void>
  /** Revokes a family: its refresh tokens die now, its access tokens (by `sid`) are refused until `retainUntil`. */
  revokeFamily (familyId: string, now: number, retainUntil: number): Promise<void>
  /** Revokes one access token by `jti` until `retainUntil` (its `exp`). */
  revokeAccessToken (jti: string, now: number, retainUntil: number): Promise<void>
  /**
   * Sets the user's not-before time (never lowers it): access tokens with `iat`
   * before it and families issued before it are revoked. Kept until `retainUntil`.
   */
  revokeUser (userId: string, notBefore: number, now: number, retainUntil: number): Promise<void>
  /** Looks up the revocations that concern an access token. */
  accessTokenStatus (query: AccessTokenQuery): Promise<AccessTokenStatus>
  /**
   * Records one use of an HTTP Digest nonce-count (RFC 7616 §3.4), so that every
   * instance sharing the store sees the same replays: `true` the first time `nonceCount`
   * is used with `nonce`, `false` when it was used before (a replay) or when the store
   * cannot vouch for it (its data was lost after `issuedAt`: the client retries with a
   * fresh nonce). Kept until `expiresAt` (ms), the nonce's expiry.
   */
  useNonceCount (nonce: string, nonceCount: number, issuedAt: number, expiresAt: number, now: number): Promise<boolean>
  /**
   * Calls `listener` whenever revocation answers may have changed (a revocation
   * here or on another instance, a reconnection), so caches can be dropped.
   * Returns the function that removes the listener.
   */
  onRevocation (listener: () => void): () => void
  /** Releases what the store opened itself (connections it created); the plugin calls it on close. */
  close (): Promise<void>
}

/** The methods a `store` option must have. */
export const TOKEN_STORE_METHODS = [
  'createFamily', 'findFamily', 'rotate', 'confirmRotation', 'revokeFamily', 'revokeAccessToken',
  'revokeUser', 'accessTokenStatus', 'useNonceCount', 'onRevocation', 'close'
] as const

// Long enough for a reconnect attempt, short enough that clients retry promptly
const RETRY_AFTER_SECONDS = '1'

/**
 * Runs a store operation; any failure becomes `TemporarilyUnavailableError`
 * (503, `Retry-After: 1`), logged once per call with the store's own error.
 */
export async function callStore<T> (operation: () => Promise<T>, log: FastifyBaseLogger): Promise<T> {
  try {
    return await operation()
  } catch (err) {
    log.error({ err: loggableError(err) }, 'fastify-oauth2-password: token store unavailable')
    // RFC 9110 §10.2.3: Retry-After as delay-seconds
    throw withRefusalHeaders(new TemporarilyUnavailableError('The token store is unavailable, retry later'), { 'retry-after': RETRY_AFTER_SECONDS })
  }
}

// ---------------------------------------------------------------------------
// Login-failure counters (account protection, lib/protection/). Kept apart from
// the token methods above: they count failed password checks, not tokens.
// ---------------------------------------------------------------------------

/**
 * Which counters one login attempt touches. Both are opaque digests made by the
 * caller (never a raw username or address): `address` names the client address's
 * counter, `pair` the (username, address) counter. A store keeps the two of one
 * address together (same Redis Cluster slot).
 */
export interface LoginFailureKeys {
  /** Digest of the client address (hex). */
  readonly address: string
  /** Digest of the (username, client address) pair (hex). */
  readonly pair: string
}

/** One counter: consecutive failures within the window, and when the last one happened. */
export interface LoginFailureCount {
  /** Failures counted; 0 when none (or all expired). */
  readonly failures: number
  /** Time of the last counted failure (ms since the epoch); 0 when none. */
  readonly lastFailureAt: number
}

/** Both counters of one attempt. */
export interface LoginFailureCounts {
  readonly address: LoginFailureCount
  readonly pair: LoginFailureCount
}

/** The login-failure counters every TokenStore has (see LOGIN_FAILURE_METHODS). */
export interface LoginFailureStore {
  /**
   * Atomically adds one failure to both counters at `now` (ms) and answers their new
   * values. Each counter is forgotten `windowMs` after its last failure (Redis `PEXPIRE`).
   */
  recordLoginFailure (keys: LoginFailureKeys, now: number, windowMs: number): Promise<LoginFailureCounts>
  /** Reads both counters at `now` (ms); an expired counter reads as `{ failures: 0, lastFailureAt: 0 }`. */
  loginFailures (keys: LoginFailureKeys, now: number): Promise<LoginFailureCounts>
  /** Forgets the pair's counter (a successful login); the address's counter stays. */
  clearLoginFailures (keys: LoginFailureKeys): Promise<void>
}

/** The methods a `store` option must also have while login throttling is on. */
export const LOGIN_FAILURE_METHODS = ['recordLoginFailure', 'loginFailures', 'clearLoginFailures'] as const

/** The counter of a key nothing has counted (or whose window has passed). */
export const NO_LOGIN_FAILURES: LoginFailureCount = Object.freeze({ failures: 0, lastFailureAt: 0 })
