import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { createSigner, createVerifier, TOKEN_ERROR_CODES } from 'fast-jwt'
import { assertAccessTokenClaims, RESERVED_CLAIMS, type AccessTokenClaims } from './access-token-claims.js'
import { assertCompactJws } from './compact-jws.js'
import { InvalidOptionError, InvalidTokenError } from '../errors.js'
import { jwks, type JsonWebKeySet } from './jwks.js'
import { formatScope, isScopeToken } from '../protocol/scopes.js'
import { resolveSigningKeys, type AccessTokenAlgorithm, type KeyMaterial, type SigningKey } from './signing-keys.js'
import { readUnverifiedKid } from './unverified-kid.js'
import { VerifiedTokenCache } from './verified-token-cache.js'
import { isRecord } from '../util/is-record.js'
import { deepFreeze } from '../util/deep-freeze.js'

export type { AccessTokenClaims } from './access-token-claims.js'
export type { JsonWebKeySet, PublicJsonWebKey } from './jwks.js'
export type { AccessTokenAlgorithm, AsymmetricAlgorithm, SecretAlgorithm, SigningKey } from './signing-keys.js'

/** How access tokens are signed, checked and cached. */
export interface AccessTokenConfig {
  /** Shared HMAC secret (HS256 by default): at least 32 bytes, or 48/64 when HS384/HS512 are listed. */
  secret?: string | Buffer
  /** Asymmetric keys, instead of `secret`: the first with a `privateKey` signs, all verify (rotation). */
  keys?: SigningKey[]
  /**
   * Accepted `alg` values. Defaults to `['HS256']` with a secret and to the keys'
   * algorithms with keys; must agree with them. `none` is refused (RFC 8725 §3.1).
   * With a secret, the first one signs.
   */
  algorithms?: string[]
  /** Lifetime of a token, whole seconds. */
  ttlSeconds: number
  /** `iss` to put in every token and require on verification. */
  issuer?: string
  /** `aud` to put in every token and require on verification (any listed value matches). */
  audience?: string | string[]
  /**
   * Clock skew forgiven when checking `exp`, `nbf` and `iat`, in seconds. Default 0.
   * RFC 7519 §4.1.4 allows "some small leeway, usually no more than a few minutes";
   * every second of it extends the life of a stolen token, so keep it to a few seconds.
   */
  clockToleranceSeconds?: number
  /**
   * How many verified tokens to remember (per verification key), so a repeated
   * token costs a hash instead of a signature check. An entry never outlives its
   * token's `exp`. Default 1000; 0 disables the cache.
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
   * Signs an access token for `subject` with `scopes`. Throws
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
type JwtVerifier = (token: string) => Record<string, unknown>

const DEFAULTS = { clockToleranceSeconds: 0, cacheSize: 1000 } as const

// RFC 9068 §2.1: the typ header is "at+jwt" (fast-jwt compares it lowercased, "application/" prefix dropped)
const ACCESS_TOKEN_TYP = 'at+jwt'

// Issued tokens are well under 1 KiB: anything above 8 KiB is refused before decoding costs anything
const MAX_TOKEN_LENGTH = 8192

// RFC 9068 §2.2 requires a jti; 128 random bits make collisions and guesses impractical
const JTI_BYTES = 16

// RFC 9068 §2.2: exp, iat, jti and sub are REQUIRED (iss and aud too once configured); scope is what the plugin authorizes with
const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'jti', 'scope']

const INVALID_TOKEN = 'The access token is invalid'

// Generic descriptions only: fast-jwt's own messages may quote dates or claim values
const TOKEN_ERROR_DESCRIPTIONS: ReadonlyMap<unknown, string> = new Map([
  [TOKEN_ERROR_CODES.expired, 'The access token expired'],
  [TOKEN_ERROR_CODES.inactive, 'The access token is not valid yet'],
  [TOKEN_ERROR_CODES.invalidSignature, 'The access token signature is invalid'],
  [TOKEN_ERROR_CODES.missingSignature, 'The access token signature is invalid'],
  [TOKEN_ERROR_CODES.invalidAlgorithm, 'The access token algorithm is not accepted'],
  [TOKEN_ERROR_CODES.invalidType, 'The access token type is not at+jwt'],
  [TOKEN_ERROR_CODES.missingRequiredClaim, 'The access token claims are invalid'],
  [TOKEN_ERROR_CODES.invalidClaimType, 'The access token claims are invalid'],
  [TOKEN_ERROR_CODES.invalidClaimValue, 'The access token issuer or audience is not accepted']
])

/**
 * The one place fast-jwt's `TokenError` codes become `InvalidTokenError`s.
 * Anything unrecognised (malformed, bad `crit`, non-object payload…) gets the
 * generic description.
 */
export function invalidTokenError (err: unknown): Error {
  return new InvalidTokenError(TOKEN_ERROR_DESCRIPTIONS.get((err as { code?: unknown }).code) ?? INVALID_TOKEN)
}

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

function resolveTtl (value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw new InvalidOptionError('ttlSeconds', 'must be a positive whole number of seconds')
  return value
}

function resolveIssuer (value: unknown): string | undefined {
  if (value !== undefined && !isNonEmptyString(value)) throw new InvalidOptionError('issuer', 'must be a non-empty string')
  return value
}

function resolveAudience (value: unknown): readonly string[] | string | undefined {
  if (value === undefined || isNonEmptyString(value)) return value
  if (!Array.isArray(value) || value.length === 0 || !value.every(isNonEmptyString)) {
    throw new InvalidOptionError('audience', 'must be a non-empty string or a non-empty array of them')
  }
  return Object.freeze([...value])
}

function resolveClockTolerance (value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidOptionError('clockToleranceSeconds', 'must be a finite number of seconds, 0 or more')
  return value * 1000
}

function resolveCacheSize (value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new InvalidOptionError('cacheSize', 'must be a whole number, 0 (no cache) or more')
  return value
}

function resolveAccessTokenConfig (config: AccessTokenConfig): ResolvedAccessTokenConfig {
  return Object.freeze({
    material: resolveSigningKeys(config.secret, config.keys, config.algorithms),
    ttlSeconds: resolveTtl(config.ttlSeconds),
    issuer: resolveIssuer(config.issuer),
    audience: resolveAudience(config.audience),
    clockToleranceMs: resolveClockTolerance(config.clockToleranceSeconds ?? DEFAULTS.clockToleranceSeconds),
    cacheSize: resolveCacheSize(config.cacheSize ?? DEFAULTS.cacheSize)
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

function createJwtVerifier (key: string | Buffer, algorithms: readonly AccessTokenAlgorithm[], config: ResolvedAccessTokenConfig): JwtVerifier {
  const { issuer, audience } = config
  return createVerifier({
    key,
    // RFC 8725 §3.1: only the listed algorithms, whatever the header claims
    algorithms: [...algorithms],
    // RFC 9068 §4: refuse anything not explicitly typed as an access token
    checkTyp: ACCESS_TOKEN_TYP,
    // RFC 8725 §3.8, §3.9: iss and aud must be present, not merely right when present
    requiredClaims: [...REQUIRED_CLAIMS, ...(issuer === undefined ? [] : ['iss']), ...(audience === undefined ? [] : ['aud'])],
    allowedIss: issuer,
    allowedAud: typeof audience === 'string' ? audience : audience?.slice(),
    clockTolerance: config.clockToleranceMs
  })
}

function createVerifierPicker (config: ResolvedAccessTokenConfig): (token: string) => JwtVerifier {
  const { material } = config
  if (material.kind === 'secret') {
    const verifier = createJwtVerifier(material.secret, material.algorithms, config)
    return function secretVerifier () {
      return verifier
    }
  }
  // RFC 8725 §3.1: each key verifies with its one algorithm, so a header cannot pair a key with another algorithm
  const verifiers = new Map<string | undefined, JwtVerifier>(material.keys.map((key) => [key.kid, createJwtVerifier(key.publicKeyPem, [key.algorithm], config)]))
  return function verifierOfKid (token) {
    const verifier = verifiers.get(readUnverifiedKid(token))
    if (verifier === undefined) throw new InvalidTokenError('The access token signing key is unknown')
    return verifier
  }
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
 * `client_id`), verified with fast-jwt under RFC 8725's rules: algorithm
 * allow-list, `none` never, one algorithm per key, required and typed claims,
 * `iat` not in the future, `iss`/`aud` when configured, at most 8 KiB.
 *
 * Verified tokens are cached (keyed by the token itself), so a protected route
 * pays a map lookup, not a signature check, for a token it has seen;
 * a cached token still expires at its `exp`. Revocation is not this module's
 * concern: check `jti` against a store after `verify`.
 *
 * Throws `InvalidOptionError` (`FST_OAUTH2_INVALID_OPTION`) for bad configuration.
 *
 * @example
 * ```ts
 * const tokens = createAccessTokens({ secret: process.env.JWT_SECRET, ttlSeconds: 1800, issuer: 'https://api.example' })
 * const { token } = tokens.sign('johndoe', ['me', 'items'])
 * tokens.verify(token).scope // 'me items'
 * ```
 */
export function createAccessTokens (config: AccessTokenConfig): AccessTokens {
  const resolved = resolveAccessTokenConfig(config)
  const { material, ttlSeconds, issuer, audience } = resolved
  const signJwt = createTokenSigner(material)
  const verifierOf = createVerifierPicker(resolved)
  // An entry lives until min(exp + tolerance, now + 10 min), nbf is honoured, failures are not cached
  const cache = new VerifiedTokenCache<Readonly<AccessTokenClaims>>(resolved.cacheSize)

  function sign (subject: string, scopes: readonly string[], extra: AccessTokenExtras = {}): SignedAccessToken {
    if (signJwt === undefined) throw new InvalidOptionError('keys', 'has no entry with a privateKey: these tokens can be verified, not signed')
    assertSubject(subject)
    assertScopes(scopes)
    const iat = Math.floor(Date.now() / 1000)
    const claims: AccessTokenClaims = { ...extraClaims(extra), sub: subject, scope: formatScope(scopes), iat, exp: iat + ttlSeconds, jti: newJti() }
    if (issuer !== undefined) claims.iss = issuer
    if (audience !== undefined) claims.aud = typeof audience === 'string' ? audience : [...audience]
    if (extra.clientId !== undefined) claims.client_id = extra.clientId
    return { token: signJwt(claims), expiresIn: ttlSeconds, claims }
  }

  function verify (token: string): Readonly<AccessTokenClaims> {
    if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError(INVALID_TOKEN)
    const now = Date.now()
    const cached = cache.get(token, now)
    if (cached !== undefined) return cached
    assertCompactJws(token)
    const verifyJwt = verifierOf(token)
    let payload: Record<string, unknown>
    try {
      payload = verifyJwt(token)
    } catch (err) {
      throw invalidTokenError(err)
    }
    // RFC 7519 §4.1.3: a token naming an audience is for that audience; with none configured, none is ours
    if (audience === undefined && payload.aud !== undefined) throw new InvalidTokenError('The access token audience is not accepted')
    const tolerance = resolved.clockToleranceMs
    assertAccessTokenClaims(payload, now, tolerance)
    const claims = deepFreeze(payload)
    const notBefore = typeof claims.nbf === 'number' ? claims.nbf * 1000 - tolerance : 0
    cache.set(token, claims, notBefore, claims.exp * 1000 + tolerance + 1, now)
    return claims
  }

  return Object.freeze({ sign, verify, jwks: material.kind === 'keys' ? jwks(material.keys) : null })
}
