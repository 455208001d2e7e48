import { createHash, createHmac, randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { InvalidGrantError, RefreshTokenReusedError } from '../errors.js'
import { formatScope } from '../protocol/scopes.js'
import { callStore, type RefreshTokenFamily, type TokenStore } from '../stores/token-store.js'

/** How refresh tokens live and die. */
export interface RefreshTokensConfig {
  readonly store: TokenStore
  /** A family not used for this long dies (sliding). */
  readonly idleTtlSeconds: number
  /** A family dies this long after the login, however active. */
  readonly absoluteTtlSeconds: number
  /** How long the token a rotation replaced is refused without revoking the family (0: never). */
  readonly reuseGraceSeconds: number
  /** Access-token lifetime plus clock tolerance: how long a revoked family's `sid` is remembered. */
  readonly accessTokenLifetimeSeconds: number
  readonly log: FastifyBaseLogger
}

/** A refresh token as handed to the client, with the family its access tokens name in `sid`. */
export interface IssuedRefreshToken {
  readonly token: string
  readonly familyId: string
}

/** A presented refresh token, parsed and hashed. */
export interface PresentedRefreshToken {
  /** The token itself (secret): the key its successor is derived with. */
  readonly token: string
  /** The family handle inside the token (secret: only its hash is stored). */
  readonly handle: string
  /** Store key of the family: hash of the handle. */
  readonly familyId: string
  /** Hash of the whole token. */
  readonly tokenHash: string
}

/** A presented token and the live family it names. */
export interface RefreshSession {
  readonly presented: PresentedRefreshToken
  readonly family: RefreshTokenFamily
}

/** Refresh-token families: start one at login, rotate on use, revoke. */
export interface RefreshTokens {
  /** Starts a family for a login and returns its first token. Store failure: 503. */
  start (userId: string, clientId: string | null, scopes: readonly string[]): Promise<IssuedRefreshToken>
  /** The live family of a presented token, or `null` (malformed, unknown, expired, revoked). */
  find (token: string): Promise<RefreshSession | null>
  /**
   * Uses the presented token: returns its successor, or throws `InvalidGrantError`
   * when it is not the family's current token (a reuse revokes the family).
   */
  rotate (session: RefreshSession): Promise<IssuedRefreshToken>
  /** Revokes the family and, through its `sid`, its access tokens. */
  revokeFamily (family: RefreshTokenFamily): Promise<void>
}

// The handle names the family; 128 random bits cannot be guessed
const HANDLE_BYTES = 16
// RFC 9700 §4.14 and RFC 6749 §10.10: the secret part alone carries 256 bits from the CSPRNG
const SECRET_BYTES = 32
// A client told 503 retries after Retry-After (1 s); outages and failovers take longer. Only rotations
// whose answer never reached this server are repeatable, and only with the token they replaced
const RETRY_WINDOW_MS = 60_000
// "<handle>.<secret>", base64url without padding: 22 and 43 characters. A JWT has three parts, so never matches.
const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/

/** One answer for every unusable refresh token, so the answer reveals nothing about families. */
export const INVALID_REFRESH_TOKEN = 'The refresh token is invalid, expired or revoked'

function digest (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

function randomPart (bytes: number): string {
  return randomBytes(bytes).toString('base64url')
}

function tokenOf (handle: string): { token: string, tokenHash: string } {
  const token = `${handle}.${randomPart(SECRET_BYTES)}`
  return { token, tokenHash: digest(token) }
}

// The successor of a token: keyed by the token itself, so only its holder can derive it from the
// seed the store keeps, and a retry of the same token gets the same successor back
function successorOf (presented: PresentedRefreshToken, seed: string): { token: string, tokenHash: string } {
  const token = `${presented.handle}.${createHmac('sha256', presented.token).update(seed).digest('base64url')}`
  return { token, tokenHash: digest(token) }
}

function noop (): void {}

/**
 * Parses a refresh token of this plugin: `<handle>.<secret>`. The store never
 * sees either part: families are keyed by the handle's SHA-256, tokens by the
 * whole token's (a fast hash suffices for 256 random bits, unlike passwords).
 * Returns `null` for anything else (an access token included).
 */
export function parseRefreshToken (token: string): PresentedRefreshToken | null {
  const match = REFRESH_TOKEN.exec(token)
  if (match === null) return null
  const handle = match[1] as string
  return { token, handle, familyId: digest(handle), tokenHash: digest(token) }
}

/**
 * Refresh tokens with rotation and reuse detection (RFC 9700 §4.14.2): each use
 * replaces the token; a token of a known family that is not its current one
 * revokes the whole family. A rotation whose answer was lost (503) is repeatable:
 * the same token presented again within a minute, before the successor was
 * handed out, gets that same successor; once handed out, the old token is a reuse. Families end after `idleTtlSeconds` without use and
 * `absoluteTtlSeconds` after the login.
 *
 * @example
 * const refresh = createRefreshTokens({ store, idleTtlSeconds: 1_209_600, absoluteTtlSeconds: 2_592_000, reuseGraceSeconds: 0, accessTokenLifetimeSeconds: 1800, log })
 * const { token } = await refresh.start('johndoe', null, ['me'])
 */
export function createRefreshTokens (config: RefreshTokensConfig): RefreshTokens {
  const { store, log } = config
  const idleTtl = config.idleTtlSeconds * 1000
  const absoluteTtl = config.absoluteTtlSeconds * 1000
  const reuseGrace = config.reuseGraceSeconds * 1000
  const accessTokenLifetime = config.accessTokenLifetimeSeconds * 1000

  async function start (userId: string, clientId: string | null, scopes: readonly string[]): Promise<IssuedRefreshToken> {
    const handle = randomPart(HANDLE_BYTES)
    const familyId = digest(handle)
    const { token, tokenHash } = tokenOf(handle)
    const now = Date.now()
    const expiresAt = now + absoluteTtl
    await callStore(() => store.createFamily({
      id: familyId, userId, clientId, scope: formatScope(scopes), issuedAt: now, expiresAt, tokenHash, idleExpiresAt: Math.min(now + idleTtl, expiresAt)
    }), log)
    return { token, familyId }
  }

  async function find (token: string): Promise<RefreshSession | null> {
    const presented = parseRefreshToken(token)
    if (presented === null) return null
    const family = await callStore(() => store.findFamily(presented.familyId, Date.now()), log)
    return family === null ? null : { presented, family }
  }

  async function rotate ({ presented, family }: RefreshSession): Promise<IssuedRefreshToken> {
    const seed = randomPart(SECRET_BYTES)
    const next = successorOf(presented, seed)
    const now = Date.now()
    const outcome = await callStore(() => store.rotate({
      familyId: family.id,
      userId: family.userId,
      tokenHash: presented.tokenHash,
      nextTokenHash: next.tokenHash,
      now,
      idleExpiresAt: Math.min(now + idleTtl, family.expiresAt),
      reuseGrace,
      retainUntil: now + accessTokenLifetime,
      successorSeed: seed,
      retryWindow: RETRY_WINDOW_MS
    }), log)
    if (outcome === 'rotated') return delivered(family, next)
    // The answer of an earlier rotation of this token was lost (it was answered 503): hand out its successor
    if (typeof outcome === 'object') return delivered(family, successorOf(presented, outcome.successorSeed))
    // RFC 9700 §4.14.2: the server cannot tell which party is legitimate; the whole family is gone
    if (outcome === 'reused') {
      log.warn({ userId: family.userId, clientId: family.clientId }, 'fastify-oauth2-password: refresh token reused; its family is revoked')
      // The same answer as any invalid token; its own code lets the security events tell reuse apart
      throw Object.defineProperty(new RefreshTokenReusedError(INVALID_REFRESH_TOKEN), 'userId', { value: family.userId, enumerable: false })
    }
    throw new InvalidGrantError(INVALID_REFRESH_TOKEN)
  }

  // The successor is about to be sent: from now on the token it replaced is a reuse. Not awaited: if the
  // confirmation is lost the rotation stays repeatable for RETRY_WINDOW_MS, which errs on the client's side
  function delivered (family: RefreshTokenFamily, next: { token: string, tokenHash: string }): IssuedRefreshToken {
    store.confirmRotation(family.id, next.tokenHash).catch(noop)
    return { token: next.token, familyId: family.id }
  }

  async function revokeFamily (family: RefreshTokenFamily): Promise<void> {
    const now = Date.now()
    await callStore(() => store.revokeFamily(family.id, now, now + accessTokenLifetime), log)
  }

  return { start, find, rotate, revokeFamily }
}
