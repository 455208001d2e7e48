import { randomBytes } from 'node:crypto'
import { createSigner, TOKEN_ERROR_CODES } from 'fast-jwt'
import { RESERVED_CLAIMS, type AccessTokenClaims } from './access-token-claims.js'
import { createAccessTokenVerifier } from './access-token-verifier.js'
import { InvalidOptionError, InvalidTokenError } from '../errors.js'
import { jwks, type JsonWebKeySet } from './jwks.js'
import { formatScope, isScopeToken } from '../protocol/scopes.js'
import type { AccessTokenAlgorithm, KeyMaterial } from './signing-keys.js'
import { TOKEN_REFUSALS } from './token-refusals.js'
import { VerifiedTokenCache } from './verified-token-cache.js'
import { isRecord } from '../util/is-record.js'
import { deepFreeze } from '../util/deep-freeze.js'

export type { AccessTokenClaims } from './access-token-claims.js'
export type { JsonWebKeySet, PublicJsonWebKey } from './jwks.js'
export type { AccessTokenAlgorithm, AsymmetricAlgorithm, SecretAlgorithm, SigningKey } from './signing-keys.js'

/**
 * How access tokens are signed, checked and cached. Already validated: the options
 * module (`resolveOptions`) is the one place plugin options are checked, and
 * `keyMaterial` comes from `resolveSigningKeys()` (signing-keys.ts).
 */
export interface AccessTokenConfig {
  /** What signs and verifies: a shared HMAC secret or asymmetric keys, with the algorithm allow-list. */
  keyMaterial: KeyMaterial
  /** Lifetime of a token, whole seconds. */
  ttlSeconds: number
  /** `iss` to put in every token and require on verification. */
  issuer?: string
  /** `aud` to put in every token and require on verification (any listed value matches). */
  audience?: string | readonly string[]
  /**
   * Clock skew forgiven when checking `exp`, `nbf` and `iat`, in seconds. Default 0.
   * RFC 7519 §4.1.4 allows "some small leeway, usually no more than a few minutes";
   * every second of it extends the life of a stolen token, so keep it to a few seconds.
   */
  clockToleranceSeconds?: number
  /**
   * How many verified tokens to remember, so a repeated token costs a map lookup
   * instead of a signature check; tokens signed here are offered to it as they are
   * signed. An entry never outlives its token's `exp`.
   * Default {@link DEFAULT_ACCESS_TOKEN_CACHE_SIZE}; 0 disables the cache.
   */
  cacheSize?: number
}

/** What may be added to a token besides subject and scopes. */
export interface AccessTokenExtras {
  /** RFC 9068 §2.2: the client the token was issued to. */
  clientId?: string
  /** Further claims; the registered ones (`sub`, `exp`, `scope`…) cannot be overridden. */
  claims?: Record<string, unknown>
}

/** A freshly signed access token. */
export interface SignedAccessToken {
  /** The compact JWS. */
  token: string
  /** Seconds until it expires: the `expires_in` of RFC 6749 §5.1. */
  expiresIn: number
  /** The claims it carries. */
  claims: AccessTokenClaims
}

/** Signs and verifies access tokens (RFC 9068 JWTs, checked as RFC 8725 requires). */
export interface AccessTokens {
  /**
   * Signs an access token for `subject` with `scopes`, then verifies it once
   * into the verified-token cache (when the cache is on and the token is within
   * the 8 KiB `verify` accepts), so its first use costs a map lookup if the
   * cache admitted it and it comes within ten minutes. Throws
   * `InvalidOptionError` for an empty subject, a malformed scope, a reserved
   * claim in `extra.claims`, or when no key has a private key.
   */
  sign (subject: string, scopes: readonly string[], extra?: AccessTokenExtras): SignedAccessToken
  /**
   * Verifies a token and returns its claims, frozen (they are shared with the
   * verified-token cache). Synchronous; throws `InvalidTokenError` (401,
   * `invalid_token`) whatever is wrong, with a description that never echoes
   * the token or its claims.
   */
  verify (token: string): Readonly<AccessTokenClaims>
  /** The public JWKS (`kid`, `alg`, `use: 'sig'`) when keys are asymmetric, else `null`. */
  readonly jwks: JsonWebKeySet | null
}

interface ResolvedAccessTokenConfig {
  readonly material: KeyMaterial
  readonly ttlSeconds: number
  readonly issuer: string | undefined
  readonly audience: readonly string[] | string | undefined
  readonly clockToleranceMs: number
  readonly cacheSize: number
}

type JwtSigner = (claims: AccessTokenClaims) => string

/** Verified tokens remembered by default: one per active user of a large API, about 50 MiB when all are used. */
export const DEFAULT_ACCESS_TOKEN_CACHE_SIZE = 100_000

const DEFAULTS = { clockToleranceSeconds: 0, cacheSize: DEFAULT_ACCESS_TOKEN_CACHE_SIZE } as const

// RFC 9068 §2.1: the typ header of the tokens signed here
const ACCESS_TOKEN_TYP = 'at+jwt'

// Issued tokens are well under 1 KiB: anything above 8 KiB is refused before decoding costs anything
const MAX_TOKEN_LENGTH = 8192

// RFC 9068 §2.2 requires a jti; 128 random bits make collisions and guesses impractical
const JTI_BYTES = 16

// Generic descriptions only: fast-jwt's own messages may quote dates or claim values
const TOKEN_ERROR_DESCRIPTIONS: ReadonlyMap<unknown, string> = new Map([
  [TOKEN_ERROR_CODES.expired, TOKEN_REFUSALS.expired],
  [TOKEN_ERROR_CODES.inactive, TOKEN_REFUSALS.notYetValid],
  [TOKEN_ERROR_CODES.invalidSignature, TOKEN_REFUSALS.signature],
  [TOKEN_ERROR_CODES.missingSignature, TOKEN_REFUSALS.signature],
  [TOKEN_ERROR_CODES.invalidAlgorithm, TOKEN_REFUSALS.algorithm],
  [TOKEN_ERROR_CODES.invalidType, TOKEN_REFUSALS.type],
  [TOKEN_ERROR_CODES.missingRequiredClaim, TOKEN_REFUSALS.claims],
  [TOKEN_ERROR_CODES.invalidClaimType, TOKEN_REFUSALS.claims],
  [TOKEN_ERROR_CODES.invalidClaimValue, TOKEN_REFUSALS.issuerOrAudience]
])

/**
 * The one place fast-jwt's `TokenError` codes become `InvalidTokenError`s.
 * Anything unrecognised (malformed, bad `crit`, non-object payload…) gets the
 * generic description.
 */
export function invalidTokenError (err: unknown): Error {
  return new InvalidTokenError(TOKEN_ERROR_DESCRIPTIONS.get((err as { code?: unknown }).code) ?? TOKEN_REFUSALS.invalid)
}

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

function resolveAccessTokenConfig (config: AccessTokenConfig): ResolvedAccessTokenConfig {
  return Object.freeze({
    material: config.keyMaterial,
    ttlSeconds: config.ttlSeconds,
    issuer: config.issuer,
    audience: typeof config.audience === 'string' ? config.audience : config.audience === undefined ? undefined : Object.freeze([...config.audience]),
    clockToleranceMs: (config.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds) * 1000,
    cacheSize: config.cacheSize ?? DEFAULTS.cacheSize
  })
}

function createTokenSigner (material: KeyMaterial): JwtSigner | undefined {
  if (material.kind === 'secret') {
    const algorithm = material.algorithms[0] as AccessTokenAlgorithm
    return createSigner({ key: material.secret, algorithm, header: { alg: algorithm, typ: ACCESS_TOKEN_TYP } })
  }
  const key = material.signingKey
  if (key === undefined) return undefined
  // RFC 7515 §4.1.4: kid names the key, so verifiers (and JWKS clients) need not guess
  return createSigner({ key: key.privateKeyPem, algorithm: key.algorithm, kid: key.kid, header: { alg: key.algorithm, typ: ACCESS_TOKEN_TYP } })
}

function newJti (): string {
  return randomBytes(JTI_BYTES).toString('base64url')
}

function assertSubject (subject: unknown): asserts subject is string {
  if (!isNonEmptyString(subject)) throw new InvalidOptionError('subject', 'must be a non-empty string')
}

function assertScopes (scopes: unknown): asserts scopes is readonly string[] {
  // RFC 6749 §3.3: scope tokens are space-delimited, so a token with a space would grant something else
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string' && isScopeToken(scope))) {
    throw new InvalidOptionError('scopes', 'must be an array of RFC 6749 §3.3 scope tokens')
  }
}

function extraClaims (extra: AccessTokenExtras): Record<string, unknown> {
  const { claims, clientId } = extra
  if (clientId !== undefined && !isNonEmptyString(clientId)) throw new InvalidOptionError('clientId', 'must be a non-empty string')
  if (claims === undefined) return {}
  if (!isRecord(claims)) throw new InvalidOptionError('claims', 'must be an object')
  for (const name of Object.keys(claims)) {
    if (RESERVED_CLAIMS.has(name)) throw new InvalidOptionError('claims', `must not set the reserved claim ${JSON.stringify(name)}`)
  }
  return claims
}

/**
 * Creates the access-token signer and verifier: RFC 9068 JWT access tokens
 * (`typ: at+jwt`, `sub`, `scope`, `exp`, `iat`, `jti`, optional `iss`, `aud`,
 * `client_id`), signed with fast-jwt and verified in one pass under RFC 8725's
 * rules (see `createAccessTokenVerifier`): algorithm allow-list, `none` never,
 * one algorithm per key, required and typed claims, `iat` not in the future,
 * `iss`/`aud` when configured, at most 8 KiB.
 *
 * Verified tokens are cached (found by a fingerprint of the signature's end, a
 * hit confirmed on the whole token), so a protected route pays a map lookup, not
 * a signature check, for a token it has seen or signed; a cached token is served
 * only while the verifier would accept it (from the later of its `iat` and `nbf`
 * to its `exp`, each with the clock tolerance). Revocation is not this module's
 * concern: check `jti` against a store after `verify`.
 *
 * Throws `InvalidOptionError` (`FST_OAUTH2_INVALID_OPTION`) for bad configuration.
 *
 * @example
 * ```ts
 * const tokens = createAccessTokens({ keyMaterial: resolveSigningKeys(process.env.JWT_SECRET, undefined, undefined), ttlSeconds: 1800 })
 * const { token } = tokens.sign('johndoe', ['me', 'items'])
 * tokens.verify(token).scope // 'me items'
 * ```
 */
export function createAccessTokens (config: AccessTokenConfig): AccessTokens {
  const resolved = resolveAccessTokenConfig(config)
  const { material, ttlSeconds, issuer, audience } = resolved
  const signJwt = createTokenSigner(material)
  const verifyJwt = createAccessTokenVerifier(resolved)
  // An entry lives ten minutes at most (verifyAndCache has its window); failures are not cached
  const cache = new VerifiedTokenCache<Readonly<AccessTokenClaims>>(resolved.cacheSize)

  function sign (subject: string, scopes: readonly string[], extra: AccessTokenExtras = {}): SignedAccessToken {
    if (signJwt === undefined) throw new InvalidOptionError('keys', 'has no entry with a privateKey: these tokens can be verified, not signed')
    assertSubject(subject)
    assertScopes(scopes)
    const now = Date.now()
    const iat = Math.floor(now / 1000)
    const claims: AccessTokenClaims = { ...extraClaims(extra), sub: subject, scope: formatScope(scopes), iat, exp: iat + ttlSeconds, jti: newJti() }
    if (issuer !== undefined) claims.iss = issuer
    if (audience !== undefined) claims.aud = typeof audience === 'string' ? audience : [...audience]
    if (extra.clientId !== undefined) claims.client_id = extra.clientId
    const token = signJwt(claims)
    // A token is issued once and used many times: verified into the cache at the instant of its
    // iat (one clock reading, so no clock step can refuse it), its first use costs a map lookup
    if (resolved.cacheSize > 0 && token.length <= MAX_TOKEN_LENGTH) verifyAndCache(token, now)
    return { token, expiresIn: ttlSeconds, claims }
  }

  // The one place a verification is cached: served from the first millisecond the verifier would
  // accept the token (its nbf and its iat, as a token issued in the future is refused) until the
  // first whole millisecond it would refuse it, even for a fractional exp
  function verifyAndCache (token: string, now: number): Readonly<AccessTokenClaims> {
    const claims = deepFreeze(verifyJwt(token, now))
    const tolerance = resolved.clockToleranceMs
    const notBefore = Math.max(claims.iat, typeof claims.nbf === 'number' ? claims.nbf : -Infinity) * 1000 - tolerance
    cache.set(token, claims, notBefore, Math.floor(claims.exp * 1000 + tolerance) + 1, now)
    return claims
  }

  function verify (token: string): Readonly<AccessTokenClaims> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError(TOKEN_REFUSALS.invalid)
    const now = Date.now()
    return cache.get(token, now) ?? verifyAndCache(token, now)
  }

  return Object.freeze({ sign, verify, jwks: material.kind === 'keys' ? jwks(material.keys) : null })
}
