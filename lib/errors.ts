import type { FastifyError, FastifyErrorConstructor } from '@fastify/error'
import { defineError } from './util/define-error.js'

/**
 * The error catalogue: every error this plugin raises, with a stable `code`
 * (`FST_OAUTH2_*`) and an HTTP status. Protocol errors also carry their RFC
 * vocabulary (`error`, `error_description`) as data, so rendering a body is a
 * property read, never a lookup.
 */

// ---------------------------------------------------------------------------
// Programmer errors: thrown at register/ready time, never at request time.
// ---------------------------------------------------------------------------

/** An option is missing or has the wrong shape. Message: `<option>: <what is wrong>`. */
export const InvalidOptionError = defineError('FST_OAUTH2_INVALID_OPTION', 'Invalid option %s: %s', 500, TypeError)

/** A route's security requirement names a scheme that is not registered. */
export const UnknownSchemeError = defineError('FST_OAUTH2_UNKNOWN_SCHEME', 'Route %s requires the unknown security scheme "%s"', 500)

/** A route's security requirement names a scope that the scheme does not declare. */
export const UnknownScopeError = defineError('FST_OAUTH2_UNKNOWN_SCOPE', 'Route %s requires the undeclared scope "%s" of scheme "%s"', 500)

/** `hashPassword()` was given a password longer than bcrypt's 72-byte input limit. */
export const PasswordTooLongError = defineError('FST_OAUTH2_PASSWORD_TOO_LONG', 'Password is longer than bcrypt\'s 72-byte limit', 400, RangeError)

/**
 * Argon2id is configured (`passwordHashing.algorithm`), or a stored hash is an Argon2id
 * hash, but the optional peer dependency `@node-rs/argon2` cannot be loaded.
 */
export const Argon2UnavailableError = defineError('FST_OAUTH2_ARGON2_UNAVAILABLE', 'Argon2id password hashing needs the optional peer dependency @node-rs/argon2 (npm i @node-rs/argon2): %s', 500)

/** `redisTokenStore({ unsafeConfig: 'refuse' })` met a Redis that could lose revocations without notice (its settings are named). */
export const UnsafeStoreError = defineError('FST_OAUTH2_UNSAFE_STORE', 'The token store could lose revocations: %s', 500)

/** The in-memory token store is full of unexpired revocations (see its `maxEntries`); the plugin answers 503. */
export const TokenStoreFullError = defineError('FST_OAUTH2_TOKEN_STORE_FULL', 'The in-memory token store holds %d unexpired entries, its maxEntries', 503, RangeError)

// ---------------------------------------------------------------------------
// Token endpoint errors: RFC 6749 §5.2 (and RFC 7009 §2.2.1 for /revoke).
// ---------------------------------------------------------------------------

/**
 * The `error` values a token endpoint answers with (RFC 6749 §5.2, and
 * `temporarily_unavailable` of §4.1.2.1 for a 503), in the RFC's order.
 */
export const TOKEN_ERROR_CODES = [
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client',
  'unsupported_grant_type', 'invalid_scope', 'temporarily_unavailable'
] as const

/** The `error` values a token or revocation endpoint answers with (RFC 7009 §2.2.1 adds `unsupported_token_type`). */
export type OAuth2ErrorCode = typeof TOKEN_ERROR_CODES[number] | 'unsupported_token_type'

/** An error the token endpoint renders as `{ error, error_description }`. */
export interface OAuth2Error extends FastifyError {
  /** RFC 6749 §5.2 `error`. */
  readonly error: OAuth2ErrorCode
  /** Extra response headers (`WWW-Authenticate` for invalid_client, `Retry-After`). */
  headers?: Record<string, string>
}

// Protocol errors are answers, not bugs: no stack trace (cheaper on the refusal path, quieter logs)
function oauth2Error (code: string, status: number, error: OAuth2ErrorCode, message: string): FastifyErrorConstructor {
  const ErrorClass = defineError(code, message, status, Error, false)
  Object.defineProperty(ErrorClass.prototype, 'error', { value: error, enumerable: false })
  return ErrorClass
}

/** RFC 6749 §5.2: a parameter is missing, repeated, empty or malformed. */
export const InvalidRequestError = oauth2Error('FST_OAUTH2_INVALID_REQUEST', 400, 'invalid_request', '%s')
/** RFC 6749 §5.2: client authentication failed. Answered with 401 and a Basic challenge. */
export const InvalidClientError = oauth2Error('FST_OAUTH2_INVALID_CLIENT', 401, 'invalid_client', 'Client authentication failed')
/**
 * RFC 6749 §5.2: the grant is invalid. One message for unknown user, wrong
 * password and disabled account, so the answer reveals nothing.
 */
export const InvalidGrantError = oauth2Error('FST_OAUTH2_INVALID_GRANT', 400, 'invalid_grant', '%s')
/** RFC 6749 §5.2: the client may not use this grant type. */
export const UnauthorizedClientError = oauth2Error('FST_OAUTH2_UNAUTHORIZED_CLIENT', 400, 'unauthorized_client', 'The client is not allowed to use this grant type')
/** RFC 6749 §5.2: the grant type is not supported by this server. */
export const UnsupportedGrantTypeError = oauth2Error('FST_OAUTH2_UNSUPPORTED_GRANT_TYPE', 400, 'unsupported_grant_type', 'The grant type is not supported')
/** RFC 6749 §5.2: a requested scope is undeclared, malformed or wider than allowed. */
export const InvalidScopeError = oauth2Error('FST_OAUTH2_INVALID_SCOPE', 400, 'invalid_scope', '%s')
/** RFC 7009 §2.2.1: the server does not revoke this token type. */
export const UnsupportedTokenTypeError = oauth2Error('FST_OAUTH2_UNSUPPORTED_TOKEN_TYPE', 400, 'unsupported_token_type', 'The token type is not supported')
/** Too many password checks are waiting (hashing gate full) or the token store is down. */
export const TemporarilyUnavailableError = oauth2Error('FST_OAUTH2_TEMPORARILY_UNAVAILABLE', 503, 'temporarily_unavailable', '%s')
/**
 * Login throttling (OWASP Authentication Cheat Sheet, NIST SP 800-63B §5.2.2): too many
 * failed logins from this address, or for this username from this address. 429 with
 * `Retry-After` (RFC 6585 §4); at the token endpoint the RFC 6749 §5.2 body says
 * `temporarily_unavailable` (a registered code clients already treat as "retry later").
 * The same answer whether the username exists or not.
 */
export const LoginThrottledError = oauth2Error('FST_OAUTH2_LOGIN_THROTTLED', 429, 'temporarily_unavailable', 'Too many failed logins: retry later')
/** A refresh token was used twice (RFC 9700 §4.14.2): its family is revoked. Answered exactly as `InvalidGrantError`. */
export const RefreshTokenReusedError = oauth2Error('FST_OAUTH2_REFRESH_TOKEN_REUSED', 400, 'invalid_grant', '%s')

// ---------------------------------------------------------------------------
// Protected-resource errors: RFC 6750 §3.1, rendered in Fastify's error shape.
// ---------------------------------------------------------------------------

/** The `error` values of a bearer challenge (RFC 6750 §3.1). */
export const BEARER_ERROR_CODES = ['invalid_request', 'invalid_token', 'insufficient_scope'] as const

/** The `error` values of a bearer challenge (RFC 6750 §3.1). */
export type BearerErrorCode = typeof BEARER_ERROR_CODES[number]

/** An error raised while authenticating a request to a protected route. */
export interface AuthenticationError extends FastifyError {
  /** RFC 6750 §3.1 `error`; absent when no credentials were sent (§3.1: no error code then). */
  readonly error?: BearerErrorCode
}

function authError (code: string, status: number, message: string, error?: BearerErrorCode): FastifyErrorConstructor {
  const ErrorClass = defineError(code, message, status, Error, false)
  if (error !== undefined) Object.defineProperty(ErrorClass.prototype, 'error', { value: error, enumerable: false })
  return ErrorClass
}

/** No credentials were presented for any accepted scheme. */
export const MissingCredentialsError = authError('FST_OAUTH2_MISSING_CREDENTIALS', 401, 'Not authenticated')
/** The credentials are syntactically malformed (RFC 6750 §3.1 `invalid_request`). */
export const MalformedCredentialsError = authError('FST_OAUTH2_MALFORMED_CREDENTIALS', 400, '%s', 'invalid_request')
/** The token is expired, revoked, malformed or badly signed, or its subject is gone. */
export const InvalidTokenError = authError('FST_OAUTH2_INVALID_TOKEN', 401, '%s', 'invalid_token')
/** Non-bearer credentials (API key, Basic, Digest) were rejected. */
export const InvalidCredentialsError = authError('FST_OAUTH2_INVALID_CREDENTIALS', 401, '%s')
/** The principal is valid but lacks a required scope (RFC 6750 §3.1 `insufficient_scope`). */
export const InsufficientScopeError = authError('FST_OAUTH2_INSUFFICIENT_SCOPE', 403, 'Not enough permissions', 'insufficient_scope')
/** The token store is unreachable and the policy is to fail closed. */
export const AuthenticationUnavailableError = authError('FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', 503, 'Authentication is temporarily unavailable')
/** HTTP Digest: the response was right but its nonce expired or its nonce-count was used before (RFC 7616 §3.3 `stale=true`). */
export const StaleNonceError = authError('FST_OAUTH2_STALE_NONCE', 401, 'The nonce is stale: retry with the new one')

/** Response headers a refusal carries: `WWW-Authenticate` (one or several challenges), `Retry-After`. */
export type RefusalHeaders = Readonly<Record<string, string | readonly string[]>>

/**
 * The one place a refusal's headers are set: merges `headers` into `error.headers`
 * (kept out of enumeration, so they never show in a serialized body or log line) and
 * returns the error. Fastify's error handler, the token endpoint's renderer and the
 * plugin's onError hook all send `error.headers` as they are.
 *
 * @example
 * throw withRefusalHeaders(new TemporarilyUnavailableError('retry later'), { 'retry-after': '1' })
 */
export function withRefusalHeaders<E extends Error> (error: E, headers: RefusalHeaders): E {
  const existing = (error as { headers?: RefusalHeaders }).headers
  Object.defineProperty(error, 'headers', { value: { ...existing, ...headers }, enumerable: false, writable: true, configurable: true })
  return error
}

/** Reads the RFC `error` value of any error from this catalogue. */
export function protocolErrorCode (err: Error): string | undefined {
  const value = (err as { error?: unknown }).error
  return typeof value === 'string' ? value : undefined
}

/** Whether `error` comes from this catalogue (as opposed to an app or library failure). */
export function isCatalogueError (error: unknown): error is AuthenticationError {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined
  return typeof code === 'string' && code.startsWith('FST_OAUTH2_')
}
