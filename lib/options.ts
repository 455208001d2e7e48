import { InvalidOptionError } from './errors.js'
import { parseDuration } from './util/duration.js'
import { isScopeToken } from './protocol/scopes.js'
import type { SecurityRequirement } from './schemes/security-scheme.js'
import type { SchemeFactory } from './schemes/scheme-factory.js'
import type { CurrentUser, UserAccount, UserStore } from './types.js'
import type { ClientRegistry } from './authorization-server/client-auth.js'
import { resolveEndpointRouteOptions, type EndpointRouteOptions } from './authorization-server/route-options.js'
import { DEFAULT_ACCESS_TOKEN_CACHE_SIZE, type SigningKey } from './jwt/access-tokens.js'
import { resolveSigningKeys, type KeyMaterial } from './jwt/signing-keys.js'
import { LOGIN_FAILURE_METHODS, TOKEN_STORE_METHODS, type TokenStore } from './stores/token-store.js'
import type { BackoffPolicy } from './protection/backoff.js'
import type { ThrottlingSettings } from './protection/login-throttle.js'
import type { SecurityEventListener } from './protection/security-events.js'
import { isRecord } from './util/is-record.js'
import { nearestName } from './util/nearest-name.js'
import { isSecurityRequirement } from './resource-server/requirements.js'
import { argon2ParametersProblem, DEFAULT_ARGON2_PARAMETERS } from './passwords/argon2.js'
import { PASSWORD_HASHING_ALGORITHMS, type HashingParameters, type PasswordHashingOptions } from './passwords/password-hashing.js'
import { isIntegerFromTo } from './util/integer-range.js'

/** Options of `register(oauth2Password, options)`. */
export interface OAuth2PasswordOptions {
  /** HS256 secret, at least 32 bytes. Required unless `keys` is given. */
  secret?: string | Buffer
  /** Asymmetric signing keys (RS256, PS256, ES256, EdDSA); the first with a private key signs, all verify. */
  keys?: SigningKey[]
  /** Accepted JWT algorithms; defaults to those of `secret` or `keys`. `none` is always refused. */
  algorithms?: string[]
  /** `iss` claim to set and require. */
  issuer?: string
  /** `aud` claim to set and require. */
  audience?: string | string[]
  /** Path of the token endpoint, relative to the registration prefix. Default `/token`. */
  tokenUrl?: string
  /** Access-token lifetime: seconds or `'30m'`, `'1h'`… Default `'30m'`. */
  accessTokenTtl?: string | number
  /** Clock skew allowed when checking `exp`, `nbf` and `iat`: seconds or `'30s'`. Default 0. */
  clockTolerance?: string | number
  /**
   * How many verified access tokens are remembered, so that a token seen before costs a map
   * lookup instead of a signature check (an entry never outlives its token's `exp`, nor ten
   * minutes). About 0.5 KiB each for a token of about 200 characters (100,000 such tokens take
   * about 50 MiB), more for longer tokens. When more tokens are in use than this, the most used
   * are kept (see the README, "Many users"). Default 100,000; 0 turns the cache off. Anything
   * but an integer from 0 to 10,000,000 rejects `register()` with `FST_OAUTH2_INVALID_OPTION`.
   */
  accessTokenCacheSize?: number
  /** Declared scopes: name → description (shown in Swagger UI's Authorize dialog). */
  scopes?: Record<string, string>
  /** Where users come from. */
  users: UserStore<CurrentUser>
  /**
   * Called after a successful login whose stored hash has another algorithm or weaker
   * parameters than `passwordHashing`, with a fresh hash to store.
   */
  onRehash?: (account: UserAccount, passwordHash: string) => void | Promise<void>
  /**
   * How passwords are hashed and the bounds of the hashing gate: bcrypt (default, cost 12)
   * or `{ algorithm: 'argon2id' }` (OWASP parameters; needs the optional peer
   * `@node-rs/argon2`). Stored hashes of either algorithm are verified. `memoryCost` is in
   * KiB. A bad value rejects `register()` with `FST_OAUTH2_INVALID_OPTION` naming it; Argon2id
   * without `@node-rs/argon2` with `FST_OAUTH2_ARGON2_UNAVAILABLE`.
   */
  passwordHashing?: PasswordHashingOptions & HashingGateOptions
  /** The older spelling of `passwordHashing` for bcrypt: `{ cost, maxConcurrent, maxQueue }`. Give one of the two. */
  bcrypt?: { cost?: number } & HashingGateOptions
  /** Registered clients. Without it, any `client_id` is accepted as a public client. */
  clients?: ClientRegistry
  /** Require `grant_type` (RFC 6749 §4.3.2). Default false: a missing one is taken as `password`, as FastAPI does. */
  strict?: boolean
  /** `realm` of the challenges. Default `'api'`. */
  realm?: string
  /** Name of the password-flow scheme in `components.securitySchemes` and in `security`. Default `'OAuth2PasswordBearer'`. */
  schemeName?: string
  /** Default requirement for every route that declares none (a route opts out with `security: []`). */
  security?: SecurityRequirement[]
  /** Where bearer tokens may also come from (RFC 6750 §2.3 query is discouraged; both off by default). */
  bearerToken?: { query?: string | false, cookie?: string | false }
  /** Body size limit of the token endpoint, in bytes. Default 4096. */
  tokenBodyLimit?: number
  /** Further security schemes by name (see `apiKey`, `httpBasic`, `httpBearer`, `httpDigest`, `openIdConnect`). */
  securitySchemes?: Record<string, SchemeFactory>
  /**
   * Refresh tokens (`grant_type=refresh_token`, RFC 6749 §6) with rotation and reuse
   * detection (RFC 9700 §4.14.2). Off by default; `true` takes the defaults.
   */
  refreshTokens?: boolean | {
    /** Default true when the object is given. */
    enabled?: boolean
    /** A family unused this long dies (sliding): seconds or `'14d'`. Default `'14d'`. */
    idleTtl?: string | number
    /** A family dies this long after the login, however active. Default `'30d'`. */
    absoluteTtl?: string | number
    /** How long after a rotation the replaced token is refused without revoking its family. Default 0 (never). */
    reuseGrace?: string | number
  }
  /** Where refresh-token families and revocations live. Default: `memoryTokenStore()` (one process). */
  store?: TokenStore
  /** Access-token revocation (by `jti`, family, or user) checked on protected routes. */
  revocation?: {
    /** Check every access token against the store (through a short local cache). Default false. */
    checkAccessTokens?: boolean
    /** How long a store answer is reused per token: seconds or `'2s'`; 0 asks every time. Default 1. */
    cacheTtl?: string | number
    /** Most cached answers. Default 10 000. */
    cacheSize?: number
    /** When the store cannot answer: refuse with 503 (`'fail-closed'`, default) or accept unchecked (`'fail-open'`). */
    onStoreError?: 'fail-closed' | 'fail-open'
  }
  /** Path of the RFC 7009 revocation endpoint, relative to the registration prefix. Default `/revoke`. */
  revokeUrl?: string
  /**
   * Route options of the token endpoint: `config` (e.g. `{ rateLimit: … }` for
   * `@fastify/rate-limit`), route hooks (`onRequest`, `preHandler`, …) and
   * `schema` documentation (`tags`, `summary`, `description`, `operationId`).
   */
  tokenRoute?: EndpointRouteOptions
  /** Route options of the revocation endpoint, as `tokenRoute`. */
  revokeRoute?: EndpointRouteOptions
  /**
   * Login throttling (on by default): failed password checks are counted per
   * (username, client address) and per client address in the `store`, and an attempt
   * beyond the free ones waits an exponential back-off: 429 `Retry-After`,
   * `FST_OAUTH2_LOGIN_THROTTLED`, before any user lookup or password hashing.
   * `false` turns it off. See the README, "Login throttling".
   */
  throttling?: false | ThrottlingOptions
  /**
   * Called with every security event (OWASP Logging Vocabulary: `authn_login_fail`,
   * `authn_login_lock`…), synchronously; what it throws is logged. The same events go to
   * the `node:diagnostics_channel` channel `fastify-oauth2-password:security-event`.
   */
  onSecurityEvent?: SecurityEventListener
}

/** The bounds of the hashing gate (see the README, `passwordHashing`). */
export interface HashingGateOptions {
  /** Hashing jobs running at once. Default: one less than the cores and the libuv threadpool, at least 1. */
  maxConcurrent?: number
  /** Hashing jobs waiting for a slot; beyond it logins get 503. Default `32 * maxConcurrent`. */
  maxQueue?: number
}

/** One back-off of the `throttling` option. */
export interface BackoffOptions {
  /** Consecutive failures allowed before any delay. */
  freeAttempts?: number
  /** Delay after the first failure beyond the free ones: seconds or `'1s'`; doubles with each further failure. Default 1 s. */
  baseDelay?: string | number
  /** The longest delay: seconds or `'1h'`. Default `'1h'`. */
  maxDelay?: string | number
}

/** The `throttling` option (OWASP Authentication Cheat Sheet; ASVS 5.0 V6.3; NIST SP 800-63B §5.2.2). */
export interface ThrottlingOptions {
  /** Default true. */
  enabled?: boolean
  /** Guesses at one account from one address. Default `{ freeAttempts: 5, baseDelay: 1, maxDelay: '1h' }`. */
  perUsernameAndAddress?: BackoffOptions
  /** Failures from one address, all usernames together (credential stuffing). Default `{ freeAttempts: 20, baseDelay: 1, maxDelay: '1h' }`. */
  perAddress?: BackoffOptions
  /** A counter is forgotten this long after its last failure; at least each `maxDelay`. Default `'1d'`. */
  window?: string | number
  /** When the store cannot answer: refuse logins with 503 (`'fail-closed'`, default) or check them unthrottled (`'fail-open'`). */
  onStoreError?: 'fail-closed' | 'fail-open'
  /** Clock in ms since the epoch, for tests and simulations. Default `Date.now`. */
  now?: () => number
}

/** Options after validation: complete, frozen, and the only thing the plugin reads. */
export interface ResolvedOptions {
  /** The validated `secret` or `keys` with the `algorithms` allow-list. */
  readonly keyMaterial: KeyMaterial
  readonly issuer: string | undefined
  readonly audience: string | string[] | undefined
  readonly tokenUrl: string
  readonly accessTokenTtlSeconds: number
  readonly clockToleranceSeconds: number
  readonly accessTokenCacheSize: number
  readonly scopes: Readonly<Record<string, string>>
  readonly users: UserStore<CurrentUser>
  readonly onRehash: OAuth2PasswordOptions['onRehash'] | undefined
  readonly passwordHashing: HashingParameters & { readonly maxConcurrent: number | undefined, readonly maxQueue: number | undefined }
  readonly clients: ClientRegistry | undefined
  readonly strict: boolean
  readonly realm: string
  readonly schemeName: string
  readonly security: readonly SecurityRequirement[] | undefined
  readonly bearerToken: { readonly query: string | false, readonly cookie: string | false }
  readonly tokenBodyLimit: number
  readonly securitySchemes: Readonly<Record<string, SchemeFactory>>
  readonly refreshTokens: { readonly enabled: boolean, readonly idleTtlSeconds: number, readonly absoluteTtlSeconds: number, readonly reuseGraceSeconds: number }
  readonly store: TokenStore | undefined
  readonly revocation: { readonly checkAccessTokens: boolean, readonly cacheTtlSeconds: number, readonly cacheSize: number, readonly onStoreError: 'fail-closed' | 'fail-open' }
  readonly revokeUrl: string
  readonly tokenRoute: Readonly<EndpointRouteOptions>
  readonly revokeRoute: Readonly<EndpointRouteOptions>
  readonly throttling: ThrottlingSettings
  readonly onSecurityEvent: SecurityEventListener | undefined
}

const DEFAULTS = {
  tokenUrl: '/token',
  accessTokenTtl: '30m',
  clockTolerance: 0,
  bcryptCost: 12,
  strict: false,
  realm: 'api',
  schemeName: 'OAuth2PasswordBearer',
  tokenBodyLimit: 4096,
  refreshIdleTtl: '14d',
  refreshAbsoluteTtl: '30d',
  revocationCacheTtl: 1,
  revocationCacheSize: 10_000,
  revokeUrl: '/revoke',
  // A handful of typos is free; then 1 s, 2 s, 4 s… up to an hour (about 17 guesses in the first hour per pair)
  perUsernameAndAddress: { freeAttempts: 5, baseDelay: 1, maxDelay: '1h' },
  // Well under 50 usernames from one address before the back-off starts (credential stuffing)
  perAddress: { freeAttempts: 20, baseDelay: 1, maxDelay: '1h' },
  throttlingWindow: '1d'
} as const

// A V8 Map holds at most 2^24 entries; ten million tokens already take about 5 GiB
const MAX_ACCESS_TOKEN_CACHE_SIZE = 10_000_000

// RFC 7235 §2.2: realm is a quoted-string; keep it to printable ASCII without quote or backslash
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/
// OpenAPI component keys: ^[a-zA-Z0-9.\-_]+$
const COMPONENT_NAME = /^[A-Za-z0-9._-]+$/
// An absolute path without query or fragment
const PATH = /^\/[^?#\s]*$/
// RFC 6265 §4.1.1 cookie-name is a token; query names kept to the same safe set
const PARAMETER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function fail (option: string, problem: string, got: unknown): never {
  throw new InvalidOptionError(option, `${problem} (got ${describe(got)})`)
}

function describe (value: unknown): string {
  if (typeof value === 'string') return value.length > 40 ? `a string of ${value.length} characters` : JSON.stringify(value)
  if (Buffer.isBuffer(value)) return `a Buffer of ${value.length} bytes`
  if (value === null || typeof value !== 'object') return String(value)
  return Array.isArray(value) ? 'an array' : 'an object'
}

// Every option name, checked against the interface: a new option cannot be forgotten here
const OPTION_NAMES: Readonly<Record<keyof OAuth2PasswordOptions, true>> = {
  secret: true,
  keys: true,
  algorithms: true,
  issuer: true,
  audience: true,
  tokenUrl: true,
  accessTokenTtl: true,
  clockTolerance: true,
  accessTokenCacheSize: true,
  scopes: true,
  users: true,
  onRehash: true,
  passwordHashing: true,
  bcrypt: true,
  clients: true,
  strict: true,
  realm: true,
  schemeName: true,
  security: true,
  bearerToken: true,
  tokenBodyLimit: true,
  securitySchemes: true,
  refreshTokens: true,
  store: true,
  revocation: true,
  revokeUrl: true,
  tokenRoute: true,
  revokeRoute: true,
  throttling: true,
  onSecurityEvent: true
}
// What Fastify's register() itself reads from the same object (fastify-plugin hands it over whole)
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers']
const TOP_LEVEL = [...Object.keys(OPTION_NAMES), ...REGISTER_OPTIONS]

/**
 * A typo in plain JavaScript (`acessTokenTtl`) would otherwise be ignored and
 * leave the default in force: refuse every key the plugin does not read, and
 * name the one that was probably meant.
 */
function rejectUnknownKeys (name: string, value: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue
    const path = name === 'options' ? key : `${name}.${key}`
    throw new InvalidOptionError(path, `is not an option of ${name === 'options' ? 'the plugin' : name}; did you mean ${JSON.stringify(nearestName(key, known))}? (known: ${known.join(', ')})`)
  }
}

function optionalBoolean (name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') fail(name, 'must be a boolean', value)
  return value
}

function optionalString (name: string, value: unknown, pattern: RegExp, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !pattern.test(value)) fail(name, `must match ${pattern}`, value)
  return value
}

function positiveInteger (name: string, value: unknown, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback
  if (!isIntegerFromTo(value, 1)) fail(name, 'must be a positive integer', value)
  return value
}

function integerFromTo (name: string, value: unknown, minimum: number, maximum: number): number {
  if (!isIntegerFromTo(value, minimum, maximum)) fail(name, `must be an integer from ${minimum} to ${maximum.toLocaleString('en-US')}`, value)
  return value
}

function resolveScopes (scopes: unknown): Record<string, string> {
  if (scopes === undefined) return Object.freeze({})
  if (!isRecord(scopes)) fail('scopes', 'must be an object of scope name to description', scopes)
  for (const [name, description] of Object.entries(scopes)) {
    if (!isScopeToken(name)) fail('scopes', `has a name that is not an RFC 6749 §3.3 scope-token: ${JSON.stringify(name)}`, scopes)
    if (typeof description !== 'string') fail(`scopes.${name}`, 'must be a description string', description)
  }
  return Object.freeze({ ...scopes as Record<string, string> })
}

function resolveUsers (users: unknown): UserStore<CurrentUser> {
  if (!isRecord(users)) fail('users', 'must be an object with findByUsername and findById', users)
  if (typeof users.findByUsername !== 'function') fail('users.findByUsername', 'must be a function', users.findByUsername)
  if (typeof users.findById !== 'function') fail('users.findById', 'must be a function', users.findById)
  if (users.findAccountById !== undefined && typeof users.findAccountById !== 'function') {
    fail('users.findAccountById', 'must be a function when given', users.findAccountById)
  }
  return users as unknown as UserStore<CurrentUser>
}

function resolveDuration (name: string, value: unknown, fallback: string | number, allowZero: boolean): number {
  if (value === undefined) value = fallback
  const seconds = parseDuration(value, allowZero)
  if (seconds === null) fail(name, 'must be a positive number of seconds or a string like "30m", "1h", "7d"', value)
  return seconds
}

const GATE_KEYS = ['maxConcurrent', 'maxQueue']

function resolveBcryptCost (name: string, cost: unknown): HashingParameters {
  return { algorithm: 'bcrypt', cost: integerFromTo(name, cost ?? DEFAULTS.bcryptCost, 4, 31) }
}

function resolveArgon2 (settings: Record<string, unknown>): HashingParameters {
  rejectUnknownKeys('passwordHashing', settings, ['algorithm', 'memoryCost', 'timeCost', 'parallelism', ...GATE_KEYS])
  const { memoryCost = DEFAULT_ARGON2_PARAMETERS.memoryCost, timeCost = DEFAULT_ARGON2_PARAMETERS.timeCost, parallelism = DEFAULT_ARGON2_PARAMETERS.parallelism } = settings
  const parameters = { memoryCost, timeCost, parallelism }
  const problem = argon2ParametersProblem(parameters)
  if (problem !== null) fail(`passwordHashing.${problem[0]}`, problem[1], parameters[problem[0]])
  return { algorithm: 'argon2id', ...parameters as { memoryCost: number, timeCost: number, parallelism: number } }
}

function resolveAlgorithm (settings: Record<string, unknown>): HashingParameters {
  const algorithm = settings.algorithm ?? 'bcrypt'
  if (typeof algorithm !== 'string' || !PASSWORD_HASHING_ALGORITHMS.has(algorithm)) fail('passwordHashing.algorithm', 'must be "bcrypt" or "argon2id"', algorithm)
  if (algorithm === 'argon2id') return resolveArgon2(settings)
  rejectUnknownKeys('passwordHashing', settings, ['algorithm', 'cost', ...GATE_KEYS])
  return resolveBcryptCost('passwordHashing.cost', settings.cost)
}

// `bcrypt` is the older spelling of `passwordHashing` with algorithm bcrypt
function resolvePasswordHashing (passwordHashing: unknown, bcrypt: unknown): ResolvedOptions['passwordHashing'] {
  if (passwordHashing !== undefined && bcrypt !== undefined) fail('bcrypt', 'is the older spelling of passwordHashing: give only one of them', bcrypt)
  const name = bcrypt === undefined ? 'passwordHashing' : 'bcrypt'
  const given = name === 'bcrypt' ? bcrypt : passwordHashing
  const settings = given === undefined ? {} : given
  if (!isRecord(settings)) fail(name, 'must be an object', settings)
  if (name === 'bcrypt') rejectUnknownKeys('bcrypt', settings, ['cost', ...GATE_KEYS])
  const parameters = name === 'bcrypt' ? resolveBcryptCost('bcrypt.cost', settings.cost) : resolveAlgorithm(settings)
  return Object.freeze({
    ...parameters,
    maxConcurrent: positiveInteger(`${name}.maxConcurrent`, settings.maxConcurrent, undefined),
    maxQueue: positiveInteger(`${name}.maxQueue`, settings.maxQueue, undefined)
  })
}

function resolveBearerToken (bearerToken: unknown): ResolvedOptions['bearerToken'] {
  if (bearerToken === undefined) return Object.freeze({ query: false, cookie: false })
  if (!isRecord(bearerToken)) fail('bearerToken', 'must be an object', bearerToken)
  rejectUnknownKeys('bearerToken', bearerToken, ['query', 'cookie'])
  const location = (name: 'query' | 'cookie'): string | false => {
    const value = bearerToken[name]
    if (value === undefined || value === false) return false
    return optionalString(`bearerToken.${name}`, value, PARAMETER_NAME, '')
  }
  return Object.freeze({ query: location('query'), cookie: location('cookie') })
}

function resolveSecurity (security: unknown): readonly SecurityRequirement[] | undefined {
  if (security === undefined) return undefined
  if (!Array.isArray(security) || !security.every(isSecurityRequirement)) {
    fail('security', 'must be an array of { schemeName: [scopes] } objects', security)
  }
  return Object.freeze(security.map((requirement) => Object.freeze({ ...requirement })))
}

function resolveSecuritySchemes (schemes: unknown, schemeName: string): Record<string, SchemeFactory> {
  if (schemes === undefined) return Object.freeze({})
  if (!isRecord(schemes)) fail('securitySchemes', 'must be an object of scheme name to scheme', schemes)
  for (const [name, factory] of Object.entries(schemes)) {
    if (!COMPONENT_NAME.test(name)) fail('securitySchemes', `has a name that is not a valid OpenAPI component key: ${JSON.stringify(name)}`, schemes)
    if (name === schemeName) fail(`securitySchemes.${name}`, 'clashes with the password-flow scheme name (option schemeName)', name)
    if (typeof factory !== 'function') fail(`securitySchemes.${name}`, 'must be a scheme made by apiKey(), httpBasic(), httpBearer(), httpDigest() or openIdConnect()', factory)
  }
  return Object.freeze({ ...schemes as Record<string, SchemeFactory> })
}

function resolveClients (clients: unknown): ClientRegistry | undefined {
  if (clients === undefined) return undefined
  if (!isRecord(clients)) fail('clients', 'must be an object of client id to { secret?, grantTypes? }', clients)
  for (const [id, client] of Object.entries(clients)) {
    if (!isRecord(client)) fail(`clients.${id}`, 'must be an object', client)
    rejectUnknownKeys(`clients.${id}`, client, ['secret', 'grantTypes'])
    if (client.secret !== undefined && (typeof client.secret !== 'string' || client.secret === '')) {
      // Described by its type only, never its value: this message may end up in logs
      throw new InvalidOptionError(`clients.${id}.secret`, `must be a non-empty string (got ${client.secret === '' ? 'an empty string' : `a value of type ${typeof client.secret}`})`)
    }
    if (client.grantTypes !== undefined && !(Array.isArray(client.grantTypes) && client.grantTypes.every((g) => typeof g === 'string'))) {
      fail(`clients.${id}.grantTypes`, 'must be an array of grant type strings', client.grantTypes)
    }
  }
  return clients as ClientRegistry
}

function resolveOnRehash (onRehash: unknown): OAuth2PasswordOptions['onRehash'] | undefined {
  if (onRehash !== undefined && typeof onRehash !== 'function') fail('onRehash', 'must be a function', onRehash)
  return onRehash as OAuth2PasswordOptions['onRehash'] | undefined
}

function resolveOptionalString (name: string, value: unknown): string | undefined {
  if (value !== undefined && (typeof value !== 'string' || value === '')) fail(name, 'must be a non-empty string', value)
  return value as string | undefined
}

function resolveAudience (audience: unknown): string | string[] | undefined {
  if (Array.isArray(audience) && audience.length > 0 && audience.every((a) => typeof a === 'string' && a !== '')) return [...audience]
  return resolveOptionalString('audience', audience)
}

function resolveRefreshTokens (refreshTokens: unknown): ResolvedOptions['refreshTokens'] {
  const settings = refreshTokens === undefined || typeof refreshTokens === 'boolean' ? { enabled: refreshTokens ?? false } : refreshTokens
  if (!isRecord(settings)) fail('refreshTokens', 'must be a boolean or an object', refreshTokens)
  rejectUnknownKeys('refreshTokens', settings, ['enabled', 'idleTtl', 'absoluteTtl', 'reuseGrace'])
  const idleTtlSeconds = resolveDuration('refreshTokens.idleTtl', settings.idleTtl, DEFAULTS.refreshIdleTtl, false)
  const absoluteTtlSeconds = resolveDuration('refreshTokens.absoluteTtl', settings.absoluteTtl, DEFAULTS.refreshAbsoluteTtl, false)
  if (idleTtlSeconds > absoluteTtlSeconds) fail('refreshTokens.idleTtl', `must not exceed refreshTokens.absoluteTtl (${absoluteTtlSeconds} s)`, settings.idleTtl)
  return Object.freeze({
    enabled: optionalBoolean('refreshTokens.enabled', settings.enabled, true),
    idleTtlSeconds,
    absoluteTtlSeconds,
    reuseGraceSeconds: resolveDuration('refreshTokens.reuseGrace', settings.reuseGrace, 0, true)
  })
}

function resolveStore (store: unknown): TokenStore | undefined {
  if (store === undefined) return undefined
  if (!isRecord(store)) fail('store', 'must be a TokenStore such as memoryTokenStore() or await redisTokenStore()', store)
  for (const method of TOKEN_STORE_METHODS) {
    if (typeof store[method] !== 'function') fail(`store.${method}`, 'must be a function (a TokenStore has ' + TOKEN_STORE_METHODS.join(', ') + ')', store[method])
  }
  return store as unknown as TokenStore
}

function resolveRevocation (revocation: unknown): ResolvedOptions['revocation'] {
  const settings = revocation ?? {}
  if (!isRecord(settings)) fail('revocation', 'must be an object', revocation)
  rejectUnknownKeys('revocation', settings, ['checkAccessTokens', 'cacheTtl', 'cacheSize', 'onStoreError'])
  const onStoreError = settings.onStoreError ?? 'fail-closed'
  if (onStoreError !== 'fail-closed' && onStoreError !== 'fail-open') fail('revocation.onStoreError', 'must be "fail-closed" or "fail-open"', onStoreError)
  return Object.freeze({
    checkAccessTokens: optionalBoolean('revocation.checkAccessTokens', settings.checkAccessTokens, false),
    cacheTtlSeconds: resolveDuration('revocation.cacheTtl', settings.cacheTtl, DEFAULTS.revocationCacheTtl, true),
    cacheSize: positiveInteger('revocation.cacheSize', settings.cacheSize, DEFAULTS.revocationCacheSize) as number,
    onStoreError
  })
}

interface BackoffDefaults { readonly freeAttempts: number, readonly baseDelay: string | number, readonly maxDelay: string | number }

function resolveBackoff (name: string, value: unknown, fallback: BackoffDefaults): BackoffPolicy {
  const settings = value ?? {}
  if (!isRecord(settings)) fail(name, 'must be an object of freeAttempts, baseDelay, maxDelay', value)
  rejectUnknownKeys(name, settings, ['freeAttempts', 'baseDelay', 'maxDelay'])
  // NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts on one account
  const freeAttempts = integerFromTo(`${name}.freeAttempts`, settings.freeAttempts ?? fallback.freeAttempts, 0, 100)
  const baseDelaySeconds = resolveDuration(`${name}.baseDelay`, settings.baseDelay, fallback.baseDelay, false)
  const maxDelaySeconds = resolveDuration(`${name}.maxDelay`, settings.maxDelay, fallback.maxDelay, false)
  if (maxDelaySeconds < baseDelaySeconds) fail(`${name}.maxDelay`, `must not be less than ${name}.baseDelay (${baseDelaySeconds} s)`, settings.maxDelay)
  return Object.freeze({ freeAttempts, baseDelaySeconds, maxDelaySeconds })
}

const THROTTLING_OFF: ThrottlingSettings = Object.freeze({
  enabled: false,
  perUsernameAndAddress: Object.freeze({ freeAttempts: 0, baseDelaySeconds: 1, maxDelaySeconds: 1 }),
  perAddress: Object.freeze({ freeAttempts: 0, baseDelaySeconds: 1, maxDelaySeconds: 1 }),
  windowSeconds: 1,
  onStoreError: 'fail-closed',
  now: Date.now
})

function assertThrottlingStore (store: TokenStore | undefined): void {
  // The default memory store has the counters; a store of the app's must too
  if (store === undefined) return
  for (const method of LOGIN_FAILURE_METHODS) {
    if (typeof store[method] !== 'function') fail(`store.${method}`, 'must be a function while throttling is on (set throttling: false to use a store without login-failure counters)', store[method])
  }
}

function resolveThrottling (throttling: unknown, store: TokenStore | undefined): ThrottlingSettings {
  if (throttling === false) return THROTTLING_OFF
  const settings = throttling ?? {}
  if (!isRecord(settings)) fail('throttling', 'must be false or an object', throttling)
  rejectUnknownKeys('throttling', settings, ['enabled', 'perUsernameAndAddress', 'perAddress', 'window', 'onStoreError', 'now'])
  if (!optionalBoolean('throttling.enabled', settings.enabled, true)) return THROTTLING_OFF
  const perUsernameAndAddress = resolveBackoff('throttling.perUsernameAndAddress', settings.perUsernameAndAddress, DEFAULTS.perUsernameAndAddress)
  const perAddress = resolveBackoff('throttling.perAddress', settings.perAddress, DEFAULTS.perAddress)
  const windowSeconds = resolveDuration('throttling.window', settings.window, DEFAULTS.throttlingWindow, false)
  // A counter that expired during its own delay would hand out the free attempts again
  const longestDelay = Math.max(perUsernameAndAddress.maxDelaySeconds, perAddress.maxDelaySeconds)
  if (windowSeconds < longestDelay) fail('throttling.window', `must be at least the longest maxDelay (${longestDelay} s)`, settings.window)
  const onStoreError = settings.onStoreError ?? 'fail-closed'
  if (onStoreError !== 'fail-closed' && onStoreError !== 'fail-open') fail('throttling.onStoreError', 'must be "fail-closed" or "fail-open"', onStoreError)
  if (settings.now !== undefined && typeof settings.now !== 'function') fail('throttling.now', 'must be a function returning ms since the epoch', settings.now)
  assertThrottlingStore(store)
  return Object.freeze({ enabled: true, perUsernameAndAddress, perAddress, windowSeconds, onStoreError, now: (settings.now as (() => number) | undefined) ?? Date.now })
}

function resolveOnSecurityEvent (listener: unknown): SecurityEventListener | undefined {
  if (listener !== undefined && typeof listener !== 'function') fail('onSecurityEvent', 'must be a function', listener)
  return listener as SecurityEventListener | undefined
}

/**
 * Validates raw plugin options and returns the frozen, complete set the plugin reads.
 * Throws `FST_OAUTH2_INVALID_OPTION` naming the option and what it got.
 */
export function resolveOptions (raw: unknown): ResolvedOptions {
  if (!isRecord(raw)) fail('options', 'must be an object', raw)
  rejectUnknownKeys('options', raw, TOP_LEVEL)
  const schemeName = optionalString('schemeName', raw.schemeName, COMPONENT_NAME, DEFAULTS.schemeName)
  const store = resolveStore(raw.store)
  return Object.freeze({
    keyMaterial: resolveSigningKeys(raw.secret, raw.keys, raw.algorithms),
    issuer: resolveOptionalString('issuer', raw.issuer),
    audience: resolveAudience(raw.audience),
    tokenUrl: optionalString('tokenUrl', raw.tokenUrl, PATH, DEFAULTS.tokenUrl),
    accessTokenTtlSeconds: resolveDuration('accessTokenTtl', raw.accessTokenTtl, DEFAULTS.accessTokenTtl, false),
    clockToleranceSeconds: resolveDuration('clockTolerance', raw.clockTolerance, DEFAULTS.clockTolerance, true),
    accessTokenCacheSize: integerFromTo('accessTokenCacheSize', raw.accessTokenCacheSize ?? DEFAULT_ACCESS_TOKEN_CACHE_SIZE, 0, MAX_ACCESS_TOKEN_CACHE_SIZE),
    scopes: resolveScopes(raw.scopes),
    users: resolveUsers(raw.users),
    onRehash: resolveOnRehash(raw.onRehash),
    passwordHashing: resolvePasswordHashing(raw.passwordHashing, raw.bcrypt),
    clients: resolveClients(raw.clients),
    strict: optionalBoolean('strict', raw.strict, DEFAULTS.strict),
    realm: optionalString('realm', raw.realm, REALM, DEFAULTS.realm),
    schemeName,
    security: resolveSecurity(raw.security),
    bearerToken: resolveBearerToken(raw.bearerToken),
    tokenBodyLimit: positiveInteger('tokenBodyLimit', raw.tokenBodyLimit, DEFAULTS.tokenBodyLimit) as number,
    securitySchemes: resolveSecuritySchemes(raw.securitySchemes, schemeName),
    refreshTokens: resolveRefreshTokens(raw.refreshTokens),
    store,
    revocation: resolveRevocation(raw.revocation),
    revokeUrl: optionalString('revokeUrl', raw.revokeUrl, PATH, DEFAULTS.revokeUrl),
    tokenRoute: resolveEndpointRouteOptions('tokenRoute', raw.tokenRoute),
    revokeRoute: resolveEndpointRouteOptions('revokeRoute', raw.revokeRoute),
    throttling: resolveThrottling(raw.throttling, store),
    onSecurityEvent: resolveOnSecurityEvent(raw.onSecurityEvent)
  })
}
