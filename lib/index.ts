// `schema.security` and `schema.hide` are typed by @fastify/swagger (a dependency): every consumer's program needs its types
/// <reference types="@fastify/swagger" preserve="true" />
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createAccessTokens, type AccessTokenClaims, type AccessTokens } from './access-tokens.js'
import { challengeOnError, currentUserResolver, type CurrentUserOptions } from './current-user.js'
import { InvalidScopeError } from './errors.js'
import { jwksRoute } from './jwks-route.js'
import { passwordGrant } from './grants/password.js'
import { refreshTokenGrant } from './grants/refresh-token.js'
import type { GrantHandler } from './grants/grant.js'
import { documentProtectedRoute, securitySchemesCarrier, securitySchemesTransform } from './openapi.js'
import { resolveOptions, type OAuth2PasswordOptions, type ResolvedOptions } from './options.js'
import { createPasswordHasher, type PasswordHasher } from './password-hasher.js'
import { createRefreshTokens, type RefreshTokens } from './refresh-tokens.js'
import { createRevocation, type Revocation } from './revocation.js'
import { createTokenRevoker, revokeEndpoint, type TokenRevoker } from './revoke-endpoint.js'
import { memoryTokenStore } from './stores/memory.js'
import type { TokenStore } from './stores/token-store.js'
import { compileRequirement } from './requirements.js'
import { requireSecurity, routeSecurity } from './route-security.js'
import { oauth2PasswordBearer } from './schemes/oauth2-password-bearer.js'
import type { SecurityRequirement, SecurityScheme } from './schemes/security-scheme.js'
import type { RequestAuthentication } from './request-authentication.js'
import { tokenEndpoint } from './token-endpoint.js'
import { tokenRouteSchema } from './token-route-schema.js'
import { createTokenIssuer, type IssueTokens, type TokenResponse } from './token-issuer.js'
import type { CurrentUser, OAuth2PasswordTypes } from './user-store.js'

/** Scope names the app declared (see {@link OAuth2PasswordTypes}), or any string. */
export type ScopeName = OAuth2PasswordTypes extends { scopes: infer Scope extends string } ? Scope : string

/** `app.oauth2`: the plugin's API for code outside the token route. */
export interface OAuth2PasswordApi {
  /** Name of the password-flow scheme (`schemeName`). */
  readonly schemeName: string
  /** Every registered security scheme by name. */
  readonly schemes: ReadonlyMap<string, SecurityScheme>
  /** Issues tokens as the token endpoint would (a refresh token too, when enabled), for a user the app has already authenticated. */
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
  /** Hashes with the configured cost, through the bcrypt gate. */
  hashPassword (password: string): Promise<string>
  /** Checks a password with the configured gate (constant work for a `null` hash). */
  verifyPassword (password: string, hash: string | null): Promise<boolean>
  /** The requirement "a password-flow token with these scopes", for `schema.security`. */
  requirement (...scopes: ScopeName[]): SecurityRequirement[]
}

declare module 'fastify' {
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

function buildAccessTokens (options: ResolvedOptions): AccessTokens {
  return createAccessTokens({
    secret: options.secret,
    keys: options.keys === undefined ? undefined : [...options.keys],
    algorithms: options.algorithms === undefined ? undefined : [...options.algorithms],
    ttlSeconds: options.accessTokenTtlSeconds,
    issuer: options.issuer,
    audience: options.audience,
    clockToleranceSeconds: options.clockToleranceSeconds
  })
}

function buildSchemes (fastify: FastifyInstance, options: ResolvedOptions, bearer: SecurityScheme, passwords: PasswordHasher): Map<string, SecurityScheme> {
  const schemes = new Map<string, SecurityScheme>([[bearer.name, bearer]])
  const context = { users: options.users, passwords, realm: options.realm, scopes: options.scopes, log: fastify.log }
  for (const [name, factory] of Object.entries(options.securitySchemes)) schemes.set(name, factory(name, context))
  return schemes
}

interface TokenServices {
  readonly issue: IssueTokens
  readonly revoker: TokenRevoker
  readonly revocation: Revocation
}

function buildTokenServices (fastify: FastifyInstance, options: ResolvedOptions, accessTokens: AccessTokens, store: TokenStore): TokenServices & { refreshTokens: RefreshTokens | null } {
  const { refreshTokens: refresh, revocation: settings } = options
  const accessTokenLifetimeSeconds = options.accessTokenTtlSeconds + options.clockToleranceSeconds
  const refreshTokens = refresh.enabled
    ? createRefreshTokens({ store, ...refresh, accessTokenLifetimeSeconds, log: fastify.log })
    : null
  const revocation = createRevocation({
    store,
    ...settings,
    clockToleranceSeconds: options.clockToleranceSeconds,
    tokenLifetimeSeconds: Math.max(accessTokenLifetimeSeconds, refresh.enabled ? refresh.absoluteTtlSeconds : 0),
    log: fastify.log
  })
  return {
    refreshTokens,
    revocation,
    issue: createTokenIssuer(accessTokens, refreshTokens),
    revoker: createTokenRevoker({ refreshTokens, revocation, accessTokens })
  }
}

function buildApi (options: ResolvedOptions, accessTokens: AccessTokens, passwords: PasswordHasher, schemes: ReadonlyMap<string, SecurityScheme>, tokens: TokenServices, declared: ReadonlySet<string>): OAuth2PasswordApi {
  const { issue } = tokens
  return {
    schemeName: options.schemeName,
    schemes,
    async issueTokens (user, scopes) {
      const granted = [...(scopes ?? user.scopes ?? [])]
      if (!granted.every((scope) => declared.has(scope))) throw new InvalidScopeError('The requested scope is not declared by this server')
      return await issue({ id: user.id }, granted, null)
    },
    verifyAccessToken: (token) => accessTokens.verify(token),
    revokeToken: (token) => tokens.revoker.revoke(token),
    revokeAllForUser: (userId) => tokens.revocation.revokeUser(userId),
    hashPassword: (password) => passwords.hash(password),
    verifyPassword: (password, hash) => passwords.verify(password, hash),
    requirement: (...scopes) => [{ [options.schemeName]: scopes }]
  }
}

async function oauth2Password (fastify: FastifyInstance, rawOptions: OAuth2PasswordOptions): Promise<void> {
  const options = resolveOptions(rawOptions)
  const accessTokens = buildAccessTokens(options)
  const passwords = createPasswordHasher(options.bcrypt)
  // fastify-plugin skips the encapsulation that applies a `prefix` register option: apply it to the token route
  const prefix = (rawOptions as { prefix?: unknown }).prefix
  const routePrefix = typeof prefix === 'string' ? prefix : ''
  const basePath = `${fastify.prefix}/${routePrefix}`.replace(/\/+/g, '/').replace(/\/$/, '')
  const tokenPath = `${basePath}${options.tokenUrl}`
  const store = options.store ?? memoryTokenStore()
  const tokens = buildTokenServices(fastify, options, accessTokens, store)
  const { refreshTokens, revocation } = tokens
  const bearer = oauth2PasswordBearer({
    name: options.schemeName,
    realm: options.realm,
    scopes: options.scopes,
    tokenUrl: () => tokenPath,
    // RFC 6749 §6: refresh requests go to the token endpoint
    refreshUrl: () => refreshTokens === null ? undefined : tokenPath,
    locations: options.bearerToken,
    accessTokens,
    users: options.users,
    checks: revocation.check === null ? [] : [revocation.check]
  })
  const declaredScopes: ReadonlySet<string> = new Set(Object.keys(options.scopes))
  const schemes = buildSchemes(fastify, options, bearer, passwords)
  // A default requirement naming an unknown scheme or scope fails now, even if no route ever uses it
  if (options.security !== undefined) compileRequirement(options.security, schemes, '(the `security` option)')
  const userSchemes = new Set([...schemes.values()].filter((scheme) => scheme.resolvesUser).map((scheme) => scheme.name))

  fastify.decorateRequest('auth', null)
  fastify.decorateRequest('currentUser', currentUserResolver(bearer, userSchemes))
  fastify.addHook('onError', challengeOnError)
  fastify.decorate('oauth2', buildApi(options, accessTokens, passwords, schemes, tokens, declaredScopes))
  fastify.addHook('onClose', async function closeTokenStore () {
    revocation.close()
    await store.close()
  })
  fastify.decorate('requireSecurity', requireSecurity)
  fastify.addHook('onRoute', routeSecurity({ schemes, defaultSecurity: options.security, document: documentProtectedRoute }))
  // The token route adds the schemes to the OpenAPI document; the carrier does when @fastify/swagger comes later
  const documentSchemes = securitySchemesTransform(schemes)
  fastify.addHook('onRoute', securitySchemesCarrier(fastify, tokenPath.slice(fastify.prefix.length), documentSchemes))

  const grants = new Map<string, GrantHandler>([
    ['password', passwordGrant({
      users: options.users,
      passwords,
      declaredScopes,
      issueTokens: tokens.issue,
      onRehash: options.onRehash,
      log: fastify.log
    })]
  ])
  if (refreshTokens !== null) {
    grants.set('refresh_token', refreshTokenGrant({
      refreshTokens,
      users: options.users,
      declaredScopes,
      issueTokens: tokens.issue
    }))
  }
  await fastify.register(tokenEndpoint({
    url: options.tokenUrl,
    bodyLimit: options.tokenBodyLimit,
    grants,
    clients: options.clients,
    strict: options.strict,
    realm: options.realm,
    schema: tokenRouteSchema([...grants.keys()]),
    swaggerTransform: documentSchemes
  }), { prefix: routePrefix })
  // RFC 7009: there is something to revoke once refresh tokens or access-token checks are on
  if (refreshTokens !== null || revocation.check !== null) {
    await fastify.register(revokeEndpoint({
      url: options.revokeUrl,
      bodyLimit: options.tokenBodyLimit,
      clients: options.clients,
      realm: options.realm,
      revoker: tokens.revoker
    }), { prefix: routePrefix })
  }
  if (accessTokens.jwks !== null) await fastify.register(jwksRoute(accessTokens.jwks))
}

/**
 * The plugin. Register it once, after `@fastify/swagger` or before: the document
 * shows the schemes and requirements either way.
 *
 * @example
 * await app.register(oauth2Password, { secret, users, scopes: { me: 'Read your profile' } })
 * app.get('/users/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, (request) => request.currentUser())
 */
const plugin = fp(oauth2Password, { fastify: '5.x', name: 'fastify-oauth2-password' })
export default plugin
export { plugin as oauth2Password }

export { hashPassword, verifyPassword, needsRehash, BCRYPT_MAX_PASSWORD_BYTES } from './passwords.js'
export * from './errors.js'
export type { OAuth2PasswordOptions } from './options.js'
export type { AccessTokenClaims, SigningKey } from './access-tokens.js'
export type { Authentication, SecurityRequirement, SecurityScheme, SecuritySchemeObject } from './schemes/security-scheme.js'
export type { SchemeContext, SchemeFactory } from './schemes/scheme-factory.js'
export type { CurrentUser, DefaultUser, OAuth2PasswordTypes, UserAccount, UserStore } from './user-store.js'
export type { ClientRegistration, ClientRegistry } from './client-auth.js'
export type { CurrentUserOptions } from './current-user.js'
export type { TokenResponse } from './token-issuer.js'
export { memoryTokenStore, type MemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory.js'
export { redisTokenStore, redisClientOptions, type RedisClient, type RedisTokenStoreOptions } from './stores/redis.js'
export type {
  AccessTokenQuery, AccessTokenStatus, NewRefreshTokenFamily, RefreshTokenFamily, RotationOutcome, RotationRequest, TokenStore
} from './stores/token-store.js'
export type { AuthenticationOf, RequestAuthentication, SecurityPrincipals } from './request-authentication.js'
export { apiKey, type ApiKeyLocation, type ApiKeyOptions, type ApiKeyVerifier } from './schemes/api-key.js'
export { staticApiKeys, type StaticKeyPrincipal, type StaticKeyVerifier } from './static-api-keys.js'
export { httpBasic, type BasicVerifier, type HttpBasicOptions } from './schemes/http-basic.js'
export { httpBearer, type BearerVerification, type BearerVerifier, type HttpBearerOptions } from './schemes/http-bearer.js'
export { httpDigest, digestHa1, type DigestAlgorithm, type DigestPrincipal, type Ha1Lookup, type HttpDigestOptions } from './schemes/http-digest.js'
export { openIdConnect, type OpenIdConnectOptions, type ProviderTokenClaims, type RemoteJwtOptions } from './schemes/openid-connect.js'
export { oauth2AuthorizationCode, type DiscoveredJwtOptions, type JwksJwtOptions, type OAuth2AuthorizationCodeOptions } from './schemes/oauth2-authorization-code.js'
export { authenticateAs, overrideCurrentUser, overrideScheme, type FakeAuthentication, type RestoreOverride, type SchemeOverride } from './testing.js'
