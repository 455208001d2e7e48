import type { FastifyRequest } from 'fastify'
import type { AuthenticationError } from '../errors.js'

/** An OAuth 2.0 flow object of OpenAPI 3 (`components.securitySchemes.*.flows.*`). */
export interface OAuthFlowObject {
  authorizationUrl?: string
  tokenUrl?: string
  refreshUrl?: string
  scopes: Record<string, string>
}

/** The OpenAPI 3 Security Scheme Object a scheme documents itself with. */
export type SecuritySchemeObject =
  | { type: 'oauth2', description?: string, flows: Partial<Record<'password' | 'authorizationCode' | 'clientCredentials' | 'implicit', OAuthFlowObject>> }
  | { type: 'apiKey', description?: string, name: string, in: 'header' | 'query' | 'cookie' }
  | { type: 'http', description?: string, scheme: string, bearerFormat?: string }
  | { type: 'openIdConnect', description?: string, openIdConnectUrl: string }

/**
 * An OpenAPI Security Requirement Object: scheme name → required scopes.
 * Several entries in one object must all succeed; `{}` allows anonymous access.
 */
export type SecurityRequirement = Record<string, readonly string[]>

/** What a scheme proved about a request. */
export interface Authentication<Principal = unknown> {
  /** Name of the scheme that authenticated the request (its `components.securitySchemes` key). */
  readonly scheme: string
  /** The authenticated principal: the user for the password flow and Basic, the callback's result for API keys. */
  readonly principal: Principal
  /** Scopes granted to these credentials (empty for schemes without scopes). */
  readonly scopes: ReadonlySet<string>
  /** Verified JWT claims, for token-based schemes; `null` otherwise. */
  readonly claims: Readonly<Record<string, unknown>> | null
}

/**
 * One security scheme: how to find and check its credentials, how to challenge,
 * and how to document itself. Every scheme (password-flow bearer, API key, Basic,
 * Digest, OpenID Connect…) implements this, so requirements compose them freely.
 */
export interface SecurityScheme {
  /** Key under `components.securitySchemes`, and the name routes use in `security`. */
  readonly name: string
  /** Whether `principal` is a user of the app's user store (then `request.currentUser()` returns it). */
  readonly resolvesUser: boolean
  /** Declared scopes, or `null` when the scheme has none (then requiring a scope is a startup error). */
  readonly scopes: ReadonlySet<string> | null
  /** The Security Scheme Object for the OpenAPI document. */
  openapi (): SecuritySchemeObject
  /**
   * Authenticates the request with this scheme: `null` when the request carries no
   * credentials for it; throws (or rejects with) an {@link AuthenticationError} when
   * it carries bad ones. May answer synchronously: the hot path then costs no promise.
   */
  authenticate (request: FastifyRequest): Authentication | null | Promise<Authentication | null>
  /**
   * The `WWW-Authenticate` challenge for a failure of this scheme (`error` is null when no credentials came);
   * several when the scheme offers alternatives (Digest: one per algorithm, RFC 7616 §3.7).
   */
  challenge (error: AuthenticationError | null, requiredScopes: readonly string[]): string | readonly string[]
}
