import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createApi } from './api.js'
import type { GrantHandler } from './authorization-server/grants/grant.js'
import { passwordGrant } from './authorization-server/grants/password.js'
import { refreshTokenGrant } from './authorization-server/grants/refresh-token.js'
import { JWKS_PATH, jwksRoute } from './authorization-server/jwks-route.js'
import { revokeEndpoint } from './authorization-server/revoke-endpoint.js'
import { tokenEndpoint } from './authorization-server/token-endpoint.js'
import { createAccessTokens, type AccessTokens } from './jwt/access-tokens.js'
import { pluginOperationsCarrier } from './openapi/operations-carrier.js'
import { documentProtectedRoute, securitySchemesTransform } from './openapi/security-schemes.js'
import { tokenRouteSchema } from './openapi/token-operation.js'
import { resolveOptions, type OAuth2PasswordOptions, type ResolvedOptions } from './options.js'
import { createAccountPolicy, type AccountPolicy } from './passwords/account-policy.js'
import { loadArgon2 } from './passwords/argon2.js'
import { createPasswordHasher } from './passwords/password-hasher.js'
import { createLoginVerifier, type VerifyLogin } from './passwords/verify-login.js'
import { createLoginProtection, type LoginProtection } from './protection/login-protection.js'
import { createLoginThrottle } from './protection/login-throttle.js'
import { securityEventsOnError } from './protection/security-event-hook.js'
import { createSecurityEvents, type SecurityEvents } from './protection/security-events.js'
import { challengeOnError, currentUserResolver } from './resource-server/current-user.js'
import { compileRequirement } from './resource-server/requirements.js'
import { earlyRouteGuard, queryCredentialNames, requireSecurity, routeSecurity } from './resource-server/route-security.js'
import { oauth2PasswordBearer } from './schemes/oauth2-password-bearer.js'
import type { SecurityScheme } from './schemes/security-scheme.js'
import { memoryTokenStore } from './stores/memory.js'
import type { TokenStore } from './stores/token-store.js'
import { createRefreshTokens, type RefreshTokens } from './tokens/refresh-tokens.js'
import { createRevocation, type Revocation } from './tokens/revocation.js'
import { createTokenResponder, type IssueTokens } from './tokens/token-response.js'
import { createTokenRevoker, type TokenRevoker } from './tokens/token-revoker.js'
import { keepTickObjectShape } from './util/tick-object-shape.js'

// Now, before the app's first full garbage collection, which would otherwise slow Node's every tick for good
keepTickObjectShape()

function buildAccessTokens (options: ResolvedOptions): AccessTokens {
  return createAccessTokens({
    keyMaterial: options.keyMaterial,
    ttlSeconds: options.accessTokenTtlSeconds,
    issuer: options.issuer,
    audience: options.audience,
    clockToleranceSeconds: options.clockToleranceSeconds,
    cacheSize: options.accessTokenCacheSize
  })
}

interface AccountServices {
  readonly passwords: ReturnType<typeof createPasswordHasher>
  readonly policy: AccountPolicy
  readonly verifyLogin: VerifyLogin
}

function buildAccountServices (fastify: FastifyInstance, options: ResolvedOptions, declaredScopes: ReadonlySet<string>): AccountServices {
  const passwords = createPasswordHasher(options.passwordHashing)
  const policy = createAccountPolicy(options.users, declaredScopes)
  const verifyLogin = createLoginVerifier({ users: options.users, passwords, policy, onRehash: options.onRehash, log: fastify.log })
  return { passwords, policy, verifyLogin }
}

function buildSchemes (fastify: FastifyInstance, options: ResolvedOptions, bearer: SecurityScheme, accounts: AccountServices, loginProtection: LoginProtection): Map<string, SecurityScheme> {
  const schemes = new Map<string, SecurityScheme>([[bearer.name, bearer]])
  const { passwords, verifyLogin } = accounts
  // An app that gives a store shares it between instances: Digest nonce-counts go there too
  const context = {
    users: options.users,
    passwords,
    verifyLogin,
    realm: options.realm,
    scopes: options.scopes,
    log: fastify.log,
    loginProtection,
    ...(options.store === undefined ? {} : { nonceCounts: options.store })
  }
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
    issue: createTokenResponder(accessTokens, refreshTokens),
    revoker: createTokenRevoker({ refreshTokens, revocation, accessTokens })
  }
}

// Account protection: login throttling over the store, and the security events
function buildProtection (fastify: FastifyInstance, options: ResolvedOptions, store: TokenStore): { events: SecurityEvents, loginProtection: LoginProtection } {
  const events = createSecurityEvents(options.onSecurityEvent, fastify.log)
  const throttle = options.throttling.enabled ? createLoginThrottle(store, options.throttling, fastify.log) : null
  return { events, loginProtection: createLoginProtection(throttle, events) }
}

async function oauth2Password (fastify: FastifyInstance, rawOptions: OAuth2PasswordOptions): Promise<void> {
  const options = resolveOptions(rawOptions)
  // The optional peer is loaded now, so a missing one fails register(), not a login
  if (options.passwordHashing.algorithm === 'argon2id') await loadArgon2()
  const accessTokens = buildAccessTokens(options)
  const declaredScopes: ReadonlySet<string> = new Set(Object.keys(options.scopes))
  const accounts = buildAccountServices(fastify, options, declaredScopes)
  const { passwords, policy } = accounts
  // fastify-plugin skips the encapsulation that applies a `prefix` register option: apply it to the token route
  const prefix = (rawOptions as { prefix?: unknown }).prefix
  const routePrefix = typeof prefix === 'string' ? prefix : ''
  const basePath = `${fastify.prefix}/${routePrefix}`.replace(/\/+/g, '/').replace(/\/$/, '')
  const tokenPath = `${basePath}${options.tokenUrl}`
  const store = options.store ?? memoryTokenStore()
  const tokens = buildTokenServices(fastify, options, accessTokens, store)
  const { refreshTokens, revocation } = tokens
  const { events, loginProtection } = buildProtection(fastify, options, store)
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
    policy,
    checks: revocation.check === null ? [] : [revocation.check]
  })
  const schemes = buildSchemes(fastify, options, bearer, accounts, loginProtection)
  // A default requirement naming an unknown scheme or scope fails now, even if no route ever uses it
  if (options.security !== undefined) compileRequirement(options.security, schemes, '(the `security` option)')
  const userSchemes = new Set([...schemes.values()].filter((scheme) => scheme.resolvesUser).map((scheme) => scheme.name))

  fastify.decorateRequest('auth', null)
  fastify.decorateRequest('currentUser', currentUserResolver(bearer, userSchemes))
  fastify.addHook('onError', challengeOnError)
  fastify.addHook('onError', securityEventsOnError(events))
  fastify.decorate('oauth2', createApi({ options, accessTokens, passwords, schemes, ...tokens, declaredScopes, policy }))
  fastify.addHook('onClose', async function closeTokenStore () {
    revocation.close()
    await store.close()
  })
  fastify.decorate('requireSecurity', requireSecurity)
  fastify.addHook('onRoute', routeSecurity({
    schemes,
    defaultSecurity: options.security,
    document: documentProtectedRoute,
    queryCredentials: queryCredentialNames(schemes, options.bearerToken.query)
  }))
  // Routes registered before the plugin are enforced too: onRoute never saw them
  fastify.addHook('onRequest', earlyRouteGuard({ schemes }))
  // The token route adds the schemes to the OpenAPI document; when @fastify/swagger comes later, the carrier
  // hands it the plugin's operations (this transform included) before the first route it sees
  const documentSchemes = securitySchemesTransform(schemes)
  const ownPaths = new Set([tokenPath, `${basePath}${options.revokeUrl}`, `${fastify.prefix}${JWKS_PATH}`])
  fastify.addHook('onRoute', pluginOperationsCarrier(fastify, ownPaths))

  const grants = new Map<string, GrantHandler>([
    ['password', passwordGrant({ verifyLogin: accounts.verifyLogin, declaredScopes, issueTokens: tokens.issue, protection: loginProtection, maxPasswordBytes: passwords.maxPasswordBytes })]
  ])
  if (refreshTokens !== null) {
    grants.set('refresh_token', refreshTokenGrant({
      refreshTokens,
      policy,
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
    schema: tokenRouteSchema([...grants.keys()], tokenPath),
    swaggerTransform: documentSchemes,
    route: options.tokenRoute
  }), { prefix: routePrefix })
  // RFC 7009: there is something to revoke once refresh tokens or access-token checks are on
  if (refreshTokens !== null || revocation.check !== null) {
    await fastify.register(revokeEndpoint({
      url: options.revokeUrl,
      bodyLimit: options.tokenBodyLimit,
      clients: options.clients,
      realm: options.realm,
      revoker: tokens.revoker,
      route: options.revokeRoute,
      events
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

export { BCRYPT_MAX_PASSWORD_BYTES } from './passwords/bcrypt.js'
export {
  hashPassword, verifyPassword, needsRehash,
  type Argon2idHashingOptions, type BcryptHashingOptions, type PasswordHashingAlgorithm, type PasswordHashingOptions
} from './passwords/password-hashing.js'
export { DEFAULT_ARGON2_PARAMETERS, type Argon2Parameters } from './passwords/argon2.js'
export {
  Argon2UnavailableError, AuthenticationUnavailableError, InsufficientScopeError, InvalidClientError, InvalidCredentialsError, InvalidGrantError,
  InvalidOptionError, InvalidRequestError, InvalidScopeError, InvalidTokenError, MalformedCredentialsError, MissingCredentialsError,
  LoginThrottledError, PasswordTooLongError, RefreshTokenReusedError, StaleNonceError, TemporarilyUnavailableError, TokenStoreFullError, UnauthorizedClientError, UnsafeStoreError,
  UnknownSchemeError, UnknownScopeError, UnsupportedGrantTypeError, UnsupportedTokenTypeError,
  type AuthenticationError, type BearerErrorCode, type OAuth2Error, type OAuth2ErrorCode
} from './errors.js'
export type { OAuth2PasswordApi } from './api.js'
export type { BackoffOptions, HashingGateOptions, OAuth2PasswordOptions, ThrottlingOptions } from './options.js'
export {
  SECURITY_EVENT_CHANNEL, SECURITY_EVENT_NAMES, securityEventChannel,
  type SecurityEvent, type SecurityEventListener, type SecurityEventMechanism, type SecurityEventName, type SecurityEventReason
} from './protection/security-events.js'
export type { AccessTokenClaims, SigningKey } from './jwt/access-tokens.js'
export type { Authentication, SecurityRequirement, SecurityScheme, SecuritySchemeObject } from './schemes/security-scheme.js'
export type { SchemeContext, SchemeFactory } from './schemes/scheme-factory.js'
export type { AccountAuthorization, CurrentUser, DefaultUser, OAuth2PasswordTypes, PublicUser, ScopeName, UserAccount, UserStore } from './types.js'
export type { ClientRegistration, ClientRegistry } from './authorization-server/client-auth.js'
export type { EndpointRouteOptions, EndpointRouteSchema } from './authorization-server/route-options.js'
export type { CurrentUserOptions } from './resource-server/current-user.js'
export type { TokenResponse } from './tokens/token-response.js'
export { memoryTokenStore, type MemoryTokenStore, type MemoryTokenStoreOptions } from './stores/memory.js'
export { redisTokenStore, redisClientOptions, redisClusterOptions, type RedisClient, type RedisTokenStoreOptions } from './stores/redis.js'
export type {
  AccessTokenQuery, AccessTokenStatus, LoginFailureCount, LoginFailureCounts, LoginFailureKeys, NewRefreshTokenFamily, RefreshTokenFamily, RepeatedRotation, RotationOutcome, RotationRequest, TokenStore
} from './stores/token-store.js'
export type { AuthenticationOf, RequestAuthentication, SecurityPrincipals } from './resource-server/request-authentication.js'
export { apiKey, type ApiKeyLocation, type ApiKeyOptions, type ApiKeyVerifier } from './schemes/api-key.js'
export { staticApiKeys, type StaticKeyPrincipal, type StaticKeyVerifier } from './schemes/static-api-keys.js'
export { httpBasic, type BasicVerifier, type HttpBasicOptions } from './schemes/http-basic.js'
export { httpBearer, type BearerVerification, type BearerVerifier, type HttpBearerOptions } from './schemes/http-bearer.js'
export { httpDigest, digestHa1, type DigestAlgorithm, type DigestPrincipal, type Ha1Lookup, type HttpDigestOptions } from './schemes/http-digest.js'
export { openIdConnect, type OpenIdConnectOptions, type ProviderTokenClaims, type RemoteJwtOptions } from './schemes/openid-connect.js'
export { oauth2AuthorizationCode, type DiscoveredJwtOptions, type JwksJwtOptions, type OAuth2AuthorizationCodeOptions } from './schemes/oauth2-authorization-code.js'
