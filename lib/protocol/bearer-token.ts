import type { FastifyRequest } from 'fastify'
import { MalformedCredentialsError } from '../errors.js'
import { cookieValues } from './cookies.js'

/** Where a bearer token may come from besides the Authorization header. */
export interface BearerTokenLocations {
  /** Query parameter name (RFC 6750 §2.3), or false. */
  readonly query: string | false
  /** Cookie name, or false. */
  readonly cookie: string | false
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i
// RFC 7235 §2.1: auth-scheme is a token, so "Bearer" ends where a non-token character starts ("Bearerx" is another scheme)
const BEARER_SCHEME = /^bearer(?![!#$%&'*+.^_`|~0-9A-Za-z-])/i
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

// Issued tokens are well under 1 KiB and the verifier refuses anything over 8 KiB: a longer
// credential is malformed, and is refused before any pattern runs over it
const MAX_TOKEN_LENGTH = 8192
const MAX_HEADER_LENGTH = MAX_TOKEN_LENGTH + 64

function fromHeader (authorization: string | undefined): string | null {
  if (authorization === undefined || !BEARER_SCHEME.test(authorization)) return null
  const match = authorization.length > MAX_HEADER_LENGTH ? null : BEARER.exec(authorization)
  if (match === null || (match[1] as string).length > MAX_TOKEN_LENGTH) {
    throw new MalformedCredentialsError('The Authorization header is not a valid Bearer credential')
  }
  return match[1] as string
}

function fromQuery (request: FastifyRequest, name: string): string | null {
  const value = (request.query as Record<string, unknown> | undefined)?.[name]
  if (value === undefined) return null
  if (typeof value !== 'string' || value.length > MAX_TOKEN_LENGTH || !B64TOKEN.test(value)) {
    throw new MalformedCredentialsError('The access token query parameter is malformed')
  }
  return value
}

/**
 * Finds the bearer token of a request: the Authorization header always, the
 * query parameter and the cookie only when configured. Returns `null` when there
 * is none; throws `invalid_request` for a malformed one, or for a header and a
 * query token together (RFC 6750 §2: clients MUST NOT use more than one method).
 * The cookie is not an RFC 6750 method and browsers send it unasked, so an
 * explicit header or query token takes precedence over it.
 */
export function extractBearerToken (request: FastifyRequest, locations: BearerTokenLocations): string | null {
  const header = fromHeader(request.headers.authorization)
  const query = locations.query === false ? null : fromQuery(request, locations.query)
  if (header !== null && query !== null) throw new MalformedCredentialsError('The access token was sent by more than one method')
  const explicit = header ?? query
  if (explicit !== null || locations.cookie === false) return explicit
  return fromCookie(cookieValues(request.headers.cookie, locations.cookie))
}

function fromCookie (values: readonly string[]): string | null {
  const value = values[0]
  // The browser sends cookies unasked: an unusable one counts as absent rather than refusing the request
  return value !== undefined && value.length <= MAX_TOKEN_LENGTH && B64TOKEN.test(value) ? value : null
}
