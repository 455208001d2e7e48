import type { FastifyRequest } from 'fastify'
import type { AccessTokenClaims, ClaimsCheck } from '../jwt/access-token-claims.js'
import type { AccessTokens } from '../jwt/access-tokens.js'
import { extractBearerToken, type BearerTokenLocations } from '../protocol/bearer-token.js'
import { InvalidTokenError, type AuthenticationError } from '../errors.js'
import type { AccountPolicy } from '../passwords/account-policy.js'
import { isPromiseLike } from '../util/promise-like.js'
import type { CurrentUser, UserStore } from '../types.js'
import { bearerChallenge } from './bearer-scheme.js'
import type { Authentication, SecurityScheme, SecuritySchemeObject } from './security-scheme.js'
import { ScopeSet } from '../protocol/scopes.js'

export interface OAuth2PasswordBearerConfig {
  readonly name: string
  readonly realm: string
  readonly scopes: Readonly<Record<string, string>>
  /** Token URL as the browser sees it (registration prefix included). */
  readonly tokenUrl: () => string
  readonly refreshUrl: () => string | undefined
  readonly locations: BearerTokenLocations
  readonly accessTokens: AccessTokens
  readonly users: UserStore<CurrentUser>
  /** Asked on every request whether the token's account may still use it. */
  readonly policy: AccountPolicy
  readonly checks: readonly ClaimsCheck[]
}

const SCOPE_SET_CACHE_LIMIT = 1024
const UNKNOWN_OR_DISABLED = 'The user of this token is unknown or disabled'

/**
 * The OAuth2 password-flow bearer scheme: JWT access tokens from this plugin's
 * token endpoint, in `Authorization: Bearer` (RFC 6750), resolved to the user.
 */
export function oauth2PasswordBearer (config: OAuth2PasswordBearerConfig): SecurityScheme {
  const declared = new Set(Object.keys(config.scopes))
  // Tokens carry few distinct scope strings: share one Set per string instead of building one per request
  const scopeSets = new Map<string, ReadonlySet<string>>()

  function scopeSet (scope: string): ReadonlySet<string> {
    let set = scopeSets.get(scope)
    if (set === undefined) {
      if (scopeSets.size >= SCOPE_SET_CACHE_LIMIT) scopeSets.clear()
      set = new ScopeSet(scope === '' ? [] : scope.split(' '))
      scopeSets.set(scope, set)
    }
    return set
  }

  function authenticated (active: boolean, user: CurrentUser, claims: Readonly<AccessTokenClaims>): Authentication {
    if (!active) throw new InvalidTokenError(UNKNOWN_OR_DISABLED)
    return { scheme: config.name, principal: user, scopes: scopeSet(claims.scope), claims }
  }

  // The account policy decides, on every request, whether a disabled account's tokens still work
  function checkAccount (user: CurrentUser | null | undefined, claims: Readonly<AccessTokenClaims>): Authentication | Promise<Authentication> {
    if (user === null || user === undefined) throw new InvalidTokenError(UNKNOWN_OR_DISABLED)
    const active = config.policy.isActive(claims.sub, user)
    return isPromiseLike(active) ? Promise.resolve(active).then((ok) => authenticated(ok, user, claims)) : authenticated(active, user, claims)
  }

  function resolveUser (claims: Readonly<AccessTokenClaims>): Authentication | Promise<Authentication> {
    const user = config.users.findById(claims.sub)
    return isPromiseLike(user) ? Promise.resolve(user).then((found) => checkAccount(found, claims)) : checkAccount(user, claims)
  }

  // Checks answer synchronously when they can (a revocation cache hit): only a pending one costs a promise
  function checkThenResolve (claims: Readonly<AccessTokenClaims>, from: number): Authentication | Promise<Authentication> {
    for (let index = from; index < config.checks.length; index++) {
      const pending = (config.checks[index] as ClaimsCheck)(claims)
      if (isPromiseLike(pending)) return Promise.resolve(pending).then(() => checkThenResolve(claims, index + 1))
    }
    return resolveUser(claims)
  }

  // Synchronous whenever the checks and the user store are: a cached token then costs no promise at all
  function authenticate (request: FastifyRequest): Authentication | null | Promise<Authentication | null> {
    const token = extractBearerToken(request, config.locations)
    if (token === null) return null
    return checkThenResolve(config.accessTokens.verify(token), 0)
  }

  return {
    name: config.name,
    resolvesUser: true,
    scopes: declared,
    openapi (): SecuritySchemeObject {
      const refreshUrl = config.refreshUrl()
      return {
        type: 'oauth2',
        flows: {
          password: { tokenUrl: config.tokenUrl(), ...(refreshUrl === undefined ? {} : { refreshUrl }), scopes: { ...config.scopes } }
        }
      }
    },
    authenticate,
    challenge (error: AuthenticationError | null, requiredScopes: readonly string[]): string {
      return bearerChallenge(config.realm, error, requiredScopes)
    }
  }
}
