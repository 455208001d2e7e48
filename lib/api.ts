import { InvalidGrantError, InvalidOptionError, InvalidScopeError } from './errors.js'
import type { AccessTokenClaims } from './jwt/access-token-claims.js'
import type { AccessTokens } from './jwt/access-tokens.js'
import type { ResolvedOptions } from './options.js'
import { accountId, type AccountPolicy } from './passwords/account-policy.js'
import type { PasswordHasher } from './passwords/password-hasher.js'
import type { CurrentUserOptions } from './resource-server/current-user.js'
import type { RequestAuthentication } from './resource-server/request-authentication.js'
import type { SecurityRequirement, SecurityScheme } from './schemes/security-scheme.js'
import type { Revocation } from './tokens/revocation.js'
import type { IssueTokens, TokenResponse } from './tokens/token-response.js'
import type { TokenRevoker } from './tokens/token-revoker.js'
import type { CurrentUser, ScopeName } from './types.js'

/** `app.oauth2`: the plugin's API for code outside the token route. */
export interface OAuth2PasswordApi {
  /** Name of the password-flow scheme (`schemeName`). */
  readonly schemeName: string
  /** Every registered security scheme by name. */
  readonly schemes: ReadonlyMap<string, SecurityScheme>
  /**
   * Issues tokens as the token endpoint would (a refresh token too, when enabled),
   * for a user the app has already authenticated. The account policy is asked
   * first: `FST_OAUTH2_INVALID_GRANT` for a deleted or disabled account, and the
   * scopes (`scopes`, else `user.scopes`, else all the account holds) are narrowed
   * to those the account holds now (`FST_OAUTH2_INVALID_SCOPE` when none is left).
   */
  issueTokens (user: { id: string, scopes?: readonly string[] }, scopes?: readonly ScopeName[]): Promise<TokenResponse>
  /**
   * Revokes a refresh token (with its whole family and, when revocation checks are on,
   * the family's access tokens) or an access token (by `jti`; needs
   * `revocation.checkAccessTokens`, else `FST_OAUTH2_UNSUPPORTED_TOKEN_TYPE`).
   * Unknown or expired tokens are ignored. Store down: `FST_OAUTH2_TEMPORARILY_UNAVAILABLE`.
   */
  revokeToken (token: string): Promise<void>
  /**
   * Logs a user out everywhere (after a password change, say): every refresh token
   * and, when revocation checks are on, every access token issued before the call
   * resolves stops working. Resolves within a second (JWT `iat` counts whole seconds).
   */
  revokeAllForUser (userId: string): Promise<void>
  /** Verifies an access token; throws `FST_OAUTH2_INVALID_TOKEN` when it is not valid. */
  verifyAccessToken (token: string): Readonly<AccessTokenClaims>
  /** Hashes with the configured algorithm and parameters (`passwordHashing`), through the hashing gate. */
  hashPassword (password: string): Promise<string>
  /** Checks a password against a bcrypt or Argon2id hash through the hashing gate, padded to the same work as every login check (a `null` hash too). */
  verifyPassword (password: string, hash: string | null): Promise<boolean>
  /** The requirement "a password-flow token with these scopes", for `schema.security`. */
  requirement (...scopes: ScopeName[]): SecurityRequirement[]
}

declare module 'fastify' {
  // `schema.security` and `schema.hide` are what routes declare, with or without @fastify/swagger
  // (an optional peer). The types are @fastify/swagger's own, to the letter: TypeScript merges
  // identical property declarations, so an app that has both compiles either way.
  interface FastifySchema {
    /** Keep the route out of the OpenAPI document (and out of the plugin's default `security`). */
    hide?: boolean
    /** The route's OpenAPI security requirement, enforced by the plugin. */
    security?: ReadonlyArray<{ [securityLabel: string]: readonly string[] }>
  }
  interface FastifyRequest {
    /** What authenticated this request (the first scheme of the winning alternative), or `null`. */
    auth: RequestAuthentication | null
    /** The authenticated user; refuses with 401 when there is none. */
    currentUser (): Promise<CurrentUser>
    /** The authenticated user, or `null` for a request without credentials. */
    currentUser (options: { optional: true }): Promise<CurrentUser | null>
    currentUser (options?: CurrentUserOptions): Promise<CurrentUser | null>
  }
  interface FastifyInstance {
    oauth2: OAuth2PasswordApi
    /** Requires `requirement` of every route registered later in this context (combined with theirs). */
    requireSecurity (requirement: SecurityRequirement | SecurityRequirement[]): void
  }
}

/** The engines `app.oauth2` fronts, built once by the plugin. */
export interface ApiEngines {
  readonly options: ResolvedOptions
  readonly accessTokens: AccessTokens
  readonly passwords: PasswordHasher
  readonly schemes: ReadonlyMap<string, SecurityScheme>
  readonly issue: IssueTokens
  readonly revoker: TokenRevoker
  readonly revocation: Revocation
  readonly declaredScopes: ReadonlySet<string>
  readonly policy: AccountPolicy
}

/** Builds `app.oauth2` over the plugin's engines. */
export function createApi (engines: ApiEngines): OAuth2PasswordApi {
  const { options, accessTokens, passwords, schemes, issue, revoker, revocation, declaredScopes, policy } = engines
  return {
    schemeName: options.schemeName,
    schemes,
    async issueTokens (user, scopes) {
      const id = accountId(user.id)
      if (id === null) throw new InvalidOptionError('issueTokens() user.id', 'must be a non-empty string or an integer')
      const requested = scopes ?? user.scopes
      if (requested !== undefined && !requested.every((scope) => declaredScopes.has(scope))) throw new InvalidScopeError('The requested scope is not declared by this server')
      const grant = await policy.current(id)
      if (grant === null) throw new InvalidGrantError('The account is unknown or disabled')
      const granted = policy.narrow(grant, requested ?? policy.held(grant))
      if (requested !== undefined && requested.length > 0 && granted.length === 0) throw new InvalidScopeError('None of the requested scopes may be granted to this user')
      return await issue({ id }, granted, null)
    },
    verifyAccessToken: (token) => accessTokens.verify(token),
    revokeToken: (token) => revoker.revoke(token),
    revokeAllForUser: (userId) => revocation.revokeUser(userId),
    hashPassword: (password) => passwords.hash(password),
    verifyPassword: (password, hash) => passwords.verify(password, hash),
    requirement: (...scopes) => [{ [options.schemeName]: scopes }]
  }
}
