import { setTimeout as sleep } from 'node:timers/promises'
import type { FastifyBaseLogger } from 'fastify'
import type { AccessTokenClaims, ClaimsCheck } from '../jwt/access-token-claims.js'
import { AuthenticationUnavailableError, InvalidTokenError } from '../errors.js'
import { BoundedMap } from '../util/bounded-map.js'
import { callStore, type AccessTokenStatus, type TokenStore } from '../stores/token-store.js'
import { loggableError } from '../util/loggable-error.js'

/** What protected routes do when the store cannot answer a revocation check. */
export type StoreErrorPolicy = 'fail-closed' | 'fail-open'

/** How access-token revocation is checked and recorded. */
export interface RevocationConfig {
  readonly store: TokenStore
  /** Check every access token on protected routes (otherwise revoking an access token is unsupported). */
  readonly checkAccessTokens: boolean
  /** How long a store answer is reused, in seconds; 0 asks the store on every request. */
  readonly cacheTtlSeconds: number
  /** Most answers cached. */
  readonly cacheSize: number
  readonly onStoreError: StoreErrorPolicy
  /** Clock tolerance of access-token checks, in seconds: a revoked `jti` is kept this long past `exp`. */
  readonly clockToleranceSeconds: number
  /** The longest any token lives (access or refresh family) plus tolerance: how long a user's not-before is kept. */
  readonly tokenLifetimeSeconds: number
  readonly log: FastifyBaseLogger
}

/** Access-token revocation: the protected-route check and the ways to revoke. */
export interface Revocation {
  /** The check for `oauth2PasswordBearer`'s `checks`, or `null` when checks are off. */
  readonly check: ClaimsCheck | null
  /** Revokes one access token by `jti` until its `exp`. Store failure: 503. */
  revokeAccessToken (claims: Readonly<AccessTokenClaims>): Promise<void>
  /**
   * Revokes every token of a user issued before the call resolves: access tokens
   * by `iat`, refresh-token families by login time. JWT `iat` counts whole seconds,
   * so the call resolves at the next whole second (within a second); tokens issued
   * after it resolves are valid.
   */
  revokeUser (userId: string): Promise<void>
  /** Stops listening to the store. */
  close (): void
}

interface CacheEntry {
  readonly status: AccessTokenStatus
  readonly until: number
}

const REVOKED = 'The access token has been revoked'

function noop (): void {}

/**
 * Access-token revocation with a local cache. With checks on, each `jti` costs
 * one store lookup per `cacheTtlSeconds` (lookups of one token in flight are
 * shared); a revoked answer is kept until the token expires. Staleness bound:
 * a revocation is seen at once by the instance that made it and by every
 * instance whose store notifies it (`onRevocation`: memory, and Redis pub/sub);
 * otherwise, as when a notification is lost, within `cacheTtlSeconds`.
 *
 * When the store fails, `fail-closed` refuses with 503
 * (`FST_OAUTH2_AUTHENTICATION_UNAVAILABLE`) and `fail-open` accepts the token
 * unchecked; answers still fresh in the cache keep being used either way.
 */
export function createRevocation (config: RevocationConfig): Revocation {
  const { store, log } = config
  const cacheTtl = config.cacheTtlSeconds * 1000
  const toleranceMs = config.clockToleranceSeconds * 1000
  const cache = new BoundedMap<string, CacheEntry>(config.cacheSize)
  const inFlight = new Map<string, Promise<AccessTokenStatus>>()
  // Bumped by every invalidation: an answer fetched before it is used once, never cached
  let epoch = 0
  let degraded = false

  function invalidate (): void {
    epoch++
    cache.clear()
    inFlight.clear()
  }

  function remember (jti: string, status: AccessTokenStatus, claims: Readonly<AccessTokenClaims>): void {
    if (cacheTtl === 0) return
    // A revocation is final: keep that answer for the token's whole life
    cache.set(jti, { status, until: status.revoked ? claims.exp * 1000 + toleranceMs : Date.now() + cacheTtl })
  }

  function lookup (claims: Readonly<AccessTokenClaims>): Promise<AccessTokenStatus> {
    const pending = inFlight.get(claims.jti)
    if (pending !== undefined) return pending
    const started = epoch
    const query = { jti: claims.jti, familyId: typeof claims.sid === 'string' ? claims.sid : undefined, userId: claims.sub }
    const lookedUp = store.accessTokenStatus(query).then(function cacheStatus (status) {
      if (epoch === started) {
        inFlight.delete(claims.jti)
        remember(claims.jti, status, claims)
      }
      return status
    }, function forget (error: unknown) {
      if (epoch === started) inFlight.delete(claims.jti)
      throw error
    })
    inFlight.set(claims.jti, lookedUp)
    return lookedUp
  }

  function enforce (status: AccessTokenStatus, claims: Readonly<AccessTokenClaims>): void {
    if (status.revoked || claims.iat * 1000 < status.notBefore) throw new InvalidTokenError(REVOKED)
  }

  async function checkWithStore (claims: Readonly<AccessTokenClaims>): Promise<void> {
    let status: AccessTokenStatus
    try {
      status = await lookup(claims)
    } catch (err) {
      if (!degraded) log.error({ err: loggableError(err) }, `fastify-oauth2-password: token store unavailable; access tokens are ${config.onStoreError === 'fail-open' ? 'accepted unchecked' : 'refused'}`)
      degraded = true
      if (config.onStoreError === 'fail-open') return
      throw new AuthenticationUnavailableError()
    }
    if (degraded) log.info('fastify-oauth2-password: token store reachable again')
    degraded = false
    enforce(status, claims)
  }

  // Synchronous on a cache hit: the hot path allocates no promise
  function checkRevocation (claims: Readonly<AccessTokenClaims>): void | Promise<void> {
    const cached = cache.get(claims.jti)
    if (cached !== undefined && cached.until > Date.now()) return enforce(cached.status, claims)
    return checkWithStore(claims)
  }

  async function revokeAccessToken (claims: Readonly<AccessTokenClaims>): Promise<void> {
    const now = Date.now()
    await callStore(() => store.revokeAccessToken(claims.jti, now, claims.exp * 1000 + toleranceMs), log)
    invalidate()
  }

  async function revokeUser (userId: string): Promise<void> {
    const now = Date.now()
    // The next whole second: every token issued until then has an earlier iat (whole seconds)
    const notBefore = (Math.floor(now / 1000) + 1) * 1000
    await callStore(() => store.revokeUser(userId, notBefore, now, notBefore + config.tokenLifetimeSeconds * 1000), log)
    invalidate()
    // Resolve once tokens issued from now on get an iat at or after notBefore, so they stay valid
    const wait = notBefore - Date.now()
    if (wait > 0) await sleep(wait)
  }

  const unsubscribe = config.checkAccessTokens ? store.onRevocation(invalidate) : noop

  return {
    check: config.checkAccessTokens ? checkRevocation : null,
    revokeAccessToken,
    revokeUser,
    close: unsubscribe
  }
}
