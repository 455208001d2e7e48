import { InvalidTokenError } from '../errors.js'

/**
 * The claims of an access token (RFC 9068 §2.2). `iss` and `aud` are present
 * when configured, `client_id` when the token was issued to a client.
 */
export interface AccessTokenClaims {
  /** The user id. */
  sub: string
  /** Granted scopes, space-delimited (RFC 8693 §4.2, RFC 6749 §3.3). */
  scope: string
  /** Expiry, seconds since the epoch. */
  exp: number
  /** Issue time, seconds since the epoch. */
  iat: number
  /** Unique token id (128 random bits, base64url), the handle for revocation. */
  jti: string
  iss?: string
  aud?: string | string[]
  client_id?: string
  [claim: string]: unknown
}

/**
 * The claims a caller may not set through `extra.claims`: the registered JWT
 * claims (RFC 7519 §4.1) and those RFC 9068 §2.2 gives a meaning to here.
 */
/** A check run on verified claims before the user is resolved (revocation is one); throws to refuse. */
export type ClaimsCheck = (claims: AccessTokenClaims) => void | Promise<void>

export const RESERVED_CLAIMS: ReadonlySet<string> = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'scope', 'client_id'])

function isNonEmptyString (value: unknown): boolean {
  return typeof value === 'string' && value !== ''
}

// RFC 7519 §2: NumericDate is a JSON number; JSON.parse turns 1e400 into Infinity, which never expires
function isNumericDate (value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function hasAccessTokenClaimTypes (claims: Record<string, unknown>): boolean {
  // RFC 9068 §2.2: sub, exp, iat and jti are REQUIRED; scope is what this plugin authorizes with
  return isNonEmptyString(claims.sub) &&
    typeof claims.scope === 'string' &&
    isNonEmptyString(claims.jti) &&
    isNumericDate(claims.exp) &&
    isNumericDate(claims.iat) &&
    (claims.nbf === undefined || isNumericDate(claims.nbf)) &&
    (claims.client_id === undefined || isNonEmptyString(claims.client_id))
}

/**
 * Asserts that a signature-checked JWT payload (a JSON object) carries the
 * access-token claims with their types, and was not issued in the future.
 * Signature, `exp`, `nbf`, `iss` and `aud` are fast-jwt's job; this completes
 * what it leaves out. Throws `InvalidTokenError` with a description that never
 * echoes a claim value.
 *
 * @example
 * ```ts
 * assertAccessTokenClaims(payload, Date.now(), 0) // narrows payload to AccessTokenClaims
 * ```
 */
export function assertAccessTokenClaims (payload: Record<string, unknown>, nowMs: number, toleranceMs: number): asserts payload is AccessTokenClaims {
  if (!hasAccessTokenClaimTypes(payload)) throw new InvalidTokenError('The access token claims are invalid')
  // RFC 7519 §4.1.6 only defines iat; a token issued after "now" comes from a forger or a broken clock
  if ((payload.iat as number) * 1000 > nowMs + toleranceMs) throw new InvalidTokenError('The access token was issued in the future')
}
