import type { FastifyRequest } from 'fastify'
import { extractBearerToken, type BearerTokenLocations } from '../protocol/bearer-token.js'
import { formatChallenge } from '../protocol/challenge.js'
import { BEARER_ERROR_CODES, InvalidTokenError, protocolErrorCode, type AuthenticationError } from '../errors.js'
import type { Authentication, SecurityScheme, SecuritySchemeObject } from './security-scheme.js'
import { NO_SCOPES, ScopeSet } from '../protocol/scopes.js'

/** What a bearer token proved: who it stands for and what it grants. */
export interface BearerVerification<Principal = unknown> {
  /** Who the token stands for; becomes `request.auth.principal`. */
  principal: Principal
  /** Scopes the token grants; none when left out. */
  scopes?: Iterable<string>
  /** Verified claims, for tokens that have them (JWTs). */
  claims?: Readonly<Record<string, unknown>> | null
}

/** Checks a bearer token: its verification, or `null` when the token is not valid. */
export type BearerVerifier<Principal = unknown> = (token: string, request: FastifyRequest) =>
  BearerVerification<Principal> | null | undefined | Promise<BearerVerification<Principal> | null | undefined>

/** What makes a bearer-token scheme (`httpBearer`, `openIdConnect`, `oauth2AuthorizationCode`). */
export interface BearerSchemeConfig {
  readonly name: string
  readonly realm: string
  /** Declared scopes, or `null` when requiring one must be a startup error. */
  readonly scopes: ReadonlySet<string> | null
  readonly openapi: () => SecuritySchemeObject
  readonly verify: BearerVerifier
}

// RFC 6750 §2.1 only: the query and cookie forms belong to the password flow's own option
const HEADER_ONLY: BearerTokenLocations = { query: false, cookie: false }
// RFC 6750 §3.1: the error codes a Bearer challenge may carry (a 503's "temporarily_unavailable" is not one)
const BEARER_ERRORS: ReadonlySet<string | undefined> = new Set(BEARER_ERROR_CODES)

/**
 * The RFC 6750 §3 challenge: no error code without credentials (§3.1), `scope`
 * with `insufficient_scope`.
 */
export function bearerChallenge (realm: string, error: AuthenticationError | null, requiredScopes: readonly string[]): string {
  const found = error === null ? undefined : protocolErrorCode(error)
  const code = BEARER_ERRORS.has(found) ? found : undefined
  return formatChallenge('Bearer', {
    realm,
    error: code,
    error_description: code === undefined ? undefined : error?.message,
    scope: code === 'insufficient_scope' ? requiredScopes.join(' ') : undefined
  })
}

/**
 * A scheme whose credentials are `Authorization: Bearer <token>` (RFC 6750 §2.1),
 * checked by `config.verify`. A malformed header is `invalid_request` (400); a
 * token `verify` refuses is `invalid_token` (401).
 */
export function bearerScheme (config: BearerSchemeConfig): SecurityScheme {
  return {
    name: config.name,
    resolvesUser: false,
    scopes: config.scopes,
    openapi: config.openapi,
    async authenticate (request: FastifyRequest): Promise<Authentication | null> {
      const token = extractBearerToken(request, HEADER_ONLY)
      if (token === null) return null
      const verified = await config.verify(token, request)
      if (verified === null || verified === undefined) throw new InvalidTokenError('The access token is invalid')
      return {
        scheme: config.name,
        principal: verified.principal,
        scopes: verified.scopes === undefined ? NO_SCOPES : new ScopeSet(verified.scopes),
        claims: verified.claims ?? null
      }
    },
    challenge (error: AuthenticationError | null, requiredScopes: readonly string[]): string {
      return bearerChallenge(config.realm, error, requiredScopes)
    }
  }
}
