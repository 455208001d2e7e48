import Fastify from 'fastify'
import t, { type Test } from 'tap'
import oauth2Password, { apiKey, memoryTokenStore, type OAuth2PasswordOptions } from '../lib/index.js'
import { resolveOptions } from '../lib/options.js'
import { isSecurityRequirement } from '../lib/resource-server/requirements.js'

const SECRET = 'test-secret-that-is-at-least-32-bytes-long'
const users = { findByUsername: () => null, findById: () => null }
const base = { secret: SECRET, users }

function escapeRegExp (value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function optionError (option: string) {
  return { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${escapeRegExp(option)}: `) }
}

/** Registers the plugin with `options` and expects register() to reject naming `option`. */
async function rejects (t: Test, options: Record<string, unknown>, option: string, label = `${option}: ${JSON.stringify(options[option.split('.')[0] as string]) ?? 'undefined'}`) {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(oauth2Password, options as unknown as OAuth2PasswordOptions) }, optionError(option), label)
}

async function accepts (t: Test, options: Record<string, unknown>, label: string) {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.resolves(async () => {
    await app.register(oauth2Password, options as unknown as OAuth2PasswordOptions)
    await app.ready()
  }, label)
}

t.test('defaults: one complete, frozen set', async (t) => {
  const options = resolveOptions(base)
  t.ok(Object.isFrozen(options))
  t.same(options, {
    keyMaterial: { kind: 'secret', secret: Buffer.from(SECRET), algorithms: ['HS256'] },
    issuer: undefined,
    audience: undefined,
    tokenUrl: '/token',
    accessTokenTtlSeconds: 1800,
    clockToleranceSeconds: 0,
    accessTokenCacheSize: 100_000,
    scopes: {},
    users,
    onRehash: undefined,
    passwordHashing: { algorithm: 'bcrypt', cost: 12, maxConcurrent: undefined, maxQueue: undefined },
    clients: undefined,
    strict: false,
    realm: 'api',
    schemeName: 'OAuth2PasswordBearer',
    security: undefined,
    bearerToken: { query: false, cookie: false },
    tokenBodyLimit: 4096,
    securitySchemes: {},
    refreshTokens: { enabled: false, idleTtlSeconds: 14 * 86_400, absoluteTtlSeconds: 30 * 86_400, reuseGraceSeconds: 0 },
    store: undefined,
    revocation: { checkAccessTokens: false, cacheTtlSeconds: 1, cacheSize: 10_000, onStoreError: 'fail-closed' },
    revokeUrl: '/revoke',
    tokenRoute: {},
    revokeRoute: {},
    throttling: {
      enabled: true,
      perUsernameAndAddress: { freeAttempts: 5, baseDelaySeconds: 1, maxDelaySeconds: 3600 },
      perAddress: { freeAttempts: 20, baseDelaySeconds: 1, maxDelaySeconds: 3600 },
      windowSeconds: 86_400,
      onStoreError: 'fail-closed',
      now: Date.now
    },
    onSecurityEvent: undefined
  })
  for (const key of ['scopes', 'passwordHashing', 'bearerToken', 'securitySchemes', 'refreshTokens', 'revocation', 'tokenRoute', 'revokeRoute', 'throttling'] as const) {
    t.ok(Object.isFrozen(options[key]), `${key} is frozen`)
  }
})

t.test('given values are kept, validated and copied', async (t) => {
  const scopes = { me: 'Me', 'items:read': 'Items' }
  const security = [{ OAuth2PasswordBearer: ['me'] }]
  const onRehash = () => {}
  const store = memoryTokenStore()
  t.teardown(() => store.close())
  const schemes = { key: apiKey({ in: 'header', name: 'x-api-key', verify: () => null }) }
  const options = resolveOptions({
    ...base,
    issuer: 'https://issuer.example',
    audience: ['a', 'b'],
    tokenUrl: '/auth/token',
    accessTokenTtl: '1h',
    clockTolerance: '30s',
    accessTokenCacheSize: 0,
    scopes,
    onRehash,
    bcrypt: { cost: 10, maxConcurrent: 2, maxQueue: 8 },
    clients: { web: {}, svc: { secret: 's3cr3t', grantTypes: ['password'] } },
    strict: true,
    realm: 'my api',
    schemeName: 'Password.Flow_1-a',
    security,
    bearerToken: { query: 'access_token', cookie: 'token' },
    tokenBodyLimit: 1024,
    securitySchemes: schemes,
    refreshTokens: { idleTtl: '1d', absoluteTtl: '7d', reuseGrace: '10s' },
    store,
    revocation: { checkAccessTokens: true, cacheTtl: 0, cacheSize: 5, onStoreError: 'fail-open' },
    revokeUrl: '/auth/revoke'
  })
  t.match(options, {
    issuer: 'https://issuer.example',
    audience: ['a', 'b'],
    tokenUrl: '/auth/token',
    accessTokenTtlSeconds: 3600,
    clockToleranceSeconds: 30,
    accessTokenCacheSize: 0,
    scopes,
    onRehash,
    passwordHashing: { algorithm: 'bcrypt', cost: 10, maxConcurrent: 2, maxQueue: 8 },
    clients: { web: {}, svc: { secret: 's3cr3t', grantTypes: ['password'] } },
    strict: true,
    realm: 'my api',
    schemeName: 'Password.Flow_1-a',
    security,
    bearerToken: { query: 'access_token', cookie: 'token' },
    tokenBodyLimit: 1024,
    securitySchemes: schemes,
    refreshTokens: { enabled: true, idleTtlSeconds: 86_400, absoluteTtlSeconds: 7 * 86_400, reuseGraceSeconds: 10 },
    store,
    revocation: { checkAccessTokens: true, cacheTtlSeconds: 0, cacheSize: 5, onStoreError: 'fail-open' },
    revokeUrl: '/auth/revoke'
  })
  t.not(options.scopes, scopes, 'scopes copied')
  t.not(options.security, security, 'security copied')
  t.not(options.security?.[0], security[0], 'each requirement copied')
  t.ok(Object.isFrozen(options.security?.[0]))
  t.equal(resolveOptions({ ...base, audience: 'api' }).audience, 'api')
  t.equal(resolveOptions({ ...base, accessTokenTtl: 60, clockTolerance: 5 }).accessTokenTtlSeconds, 60)
  t.equal(resolveOptions({ ...base, clockTolerance: '0s' }).clockToleranceSeconds, 0, 'zero written with a unit')
  t.same(resolveOptions({ ...base, bcrypt: {} }).passwordHashing, { algorithm: 'bcrypt', cost: 12, maxConcurrent: undefined, maxQueue: undefined })
  t.same(resolveOptions({ ...base, bearerToken: {} }).bearerToken, { query: false, cookie: false })
  t.same(resolveOptions({ ...base, bearerToken: { query: false, cookie: false } }).bearerToken, { query: false, cookie: false })
  t.equal(resolveOptions({ ...base, refreshTokens: true }).refreshTokens.enabled, true)
  t.equal(resolveOptions({ ...base, refreshTokens: {} }).refreshTokens.enabled, true)
  t.equal(resolveOptions({ ...base, refreshTokens: { enabled: false } }).refreshTokens.enabled, false)
  t.equal(resolveOptions({ ...base, refreshTokens: { reuseGrace: '0s' } }).refreshTokens.reuseGraceSeconds, 0)
  t.same(resolveOptions({ ...base, security: [] }).security, [])
  t.same(resolveOptions({ ...base, security: [{}] }).security, [{}], 'an anonymous alternative')
})

t.test('the options themselves must be an object', async (t) => {
  for (const raw of [undefined, null, 'x', 1, []]) {
    t.throws(() => resolveOptions(raw), optionError('options'), String(raw))
  }
})

t.test('every invalid option rejects register() naming it', async (t) => {
  const fn = () => null
  const cases: Array<[Record<string, unknown>, string]> = [
    // Key material
    [{ users }, 'secret'],
    [{ secret: 'x'.repeat(31), users }, 'secret'],
    [{ secret: 1234, users }, 'secret'],
    // issuer, audience
    [{ ...base, issuer: '' }, 'issuer'],
    [{ ...base, issuer: 1 }, 'issuer'],
    [{ ...base, audience: '' }, 'audience'],
    [{ ...base, audience: [] }, 'audience'],
    [{ ...base, audience: [''] }, 'audience'],
    [{ ...base, audience: ['a', 1] }, 'audience'],
    [{ ...base, audience: 1 }, 'audience'],
    // tokenUrl, revokeUrl
    [{ ...base, tokenUrl: 'token' }, 'tokenUrl'],
    [{ ...base, tokenUrl: '' }, 'tokenUrl'],
    [{ ...base, tokenUrl: '/token?x=1' }, 'tokenUrl'],
    [{ ...base, tokenUrl: '/token#x' }, 'tokenUrl'],
    [{ ...base, tokenUrl: '/to ken' }, 'tokenUrl'],
    [{ ...base, tokenUrl: 1 }, 'tokenUrl'],
    [{ ...base, revokeUrl: 'revoke' }, 'revokeUrl'],
    // Durations
    [{ ...base, accessTokenTtl: '30x' }, 'accessTokenTtl'],
    [{ ...base, accessTokenTtl: '0m' }, 'accessTokenTtl'],
    [{ ...base, accessTokenTtl: -1 }, 'accessTokenTtl'],
    [{ ...base, accessTokenTtl: 0 }, 'accessTokenTtl'],
    [{ ...base, accessTokenTtl: 1.5 }, 'accessTokenTtl'],
    [{ ...base, accessTokenTtl: '' }, 'accessTokenTtl'],
    [{ ...base, accessTokenTtl: true }, 'accessTokenTtl'],
    [{ ...base, clockTolerance: -1 }, 'clockTolerance'],
    [{ ...base, clockTolerance: '5 s' }, 'clockTolerance'],
    [{ ...base, clockTolerance: Infinity }, 'clockTolerance'],
    [{ ...base, accessTokenTtl: '30m ' }, 'accessTokenTtl'],
    [{ ...base, accessTokenCacheSize: -1 }, 'accessTokenCacheSize'],
    [{ ...base, accessTokenCacheSize: 1.5 }, 'accessTokenCacheSize'],
    [{ ...base, accessTokenCacheSize: '100' }, 'accessTokenCacheSize'],
    [{ ...base, accessTokenCacheSize: Infinity }, 'accessTokenCacheSize'],
    [{ ...base, accessTokenCacheSize: 10_000_001 }, 'accessTokenCacheSize'],
    // scopes
    [{ ...base, scopes: 'me' }, 'scopes'],
    [{ ...base, scopes: ['me'] }, 'scopes'],
    [{ ...base, scopes: null }, 'scopes'],
    [{ ...base, scopes: { 'a b': 'x' } }, 'scopes'],
    [{ ...base, scopes: { 'a"b': 'x' } }, 'scopes'],
    [{ ...base, scopes: { 'a\\b': 'x' } }, 'scopes'],
    [{ ...base, scopes: { é: 'x' } }, 'scopes'],
    [{ ...base, scopes: { '': 'x' } }, 'scopes'],
    [{ ...base, scopes: { me: 1 } }, 'scopes.me'],
    // users, onRehash
    [{ secret: SECRET }, 'users'],
    [{ ...base, users: 'db' }, 'users'],
    [{ ...base, users: {} }, 'users.findByUsername'],
    [{ ...base, users: { findByUsername: fn } }, 'users.findById'],
    [{ ...base, users: { findByUsername: 'x', findById: fn } }, 'users.findByUsername'],
    [{ ...base, onRehash: 'save' }, 'onRehash'],
    // bcrypt
    [{ ...base, bcrypt: 12 }, 'bcrypt'],
    [{ ...base, bcrypt: { cost: 3 } }, 'bcrypt.cost'],
    [{ ...base, bcrypt: { cost: 32 } }, 'bcrypt.cost'],
    [{ ...base, bcrypt: { cost: 10.5 } }, 'bcrypt.cost'],
    [{ ...base, bcrypt: { cost: '12' } }, 'bcrypt.cost'],
    [{ ...base, bcrypt: { maxConcurrent: 0 } }, 'bcrypt.maxConcurrent'],
    [{ ...base, bcrypt: { maxConcurrent: 1.5 } }, 'bcrypt.maxConcurrent'],
    [{ ...base, bcrypt: { maxQueue: -1 } }, 'bcrypt.maxQueue'],
    [{ ...base, bcrypt: { maxQueue: '8' } }, 'bcrypt.maxQueue'],
    // passwordHashing
    [{ ...base, passwordHashing: 'argon2id' }, 'passwordHashing'],
    [{ ...base, passwordHashing: { algorithm: 'scrypt' } }, 'passwordHashing.algorithm'],
    [{ ...base, passwordHashing: { algorithm: 2 } }, 'passwordHashing.algorithm'],
    [{ ...base, passwordHashing: { cost: 3 } }, 'passwordHashing.cost'],
    [{ ...base, passwordHashing: { algorithm: 'bcrypt', memoryCost: 19_456 } }, 'passwordHashing.memoryCost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', cost: 12 } }, 'passwordHashing.cost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', memoryCost: 7 } }, 'passwordHashing.memoryCost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', memoryCost: 31, parallelism: 4 } }, 'passwordHashing.memoryCost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', memoryCost: 2 ** 32 } }, 'passwordHashing.memoryCost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', timeCost: 0 } }, 'passwordHashing.timeCost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', timeCost: 1.5 } }, 'passwordHashing.timeCost'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', parallelism: 0 } }, 'passwordHashing.parallelism'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', parallelism: 256 } }, 'passwordHashing.parallelism'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', parallelism: '1' } }, 'passwordHashing.parallelism'],
    [{ ...base, passwordHashing: { algorithm: 'argon2id', maxQueue: 0 } }, 'passwordHashing.maxQueue'],
    [{ ...base, passwordHashing: { maxConcurrent: 0 } }, 'passwordHashing.maxConcurrent'],
    [{ ...base, passwordHashing: {}, bcrypt: {} }, 'bcrypt'],
    // clients
    [{ ...base, clients: 'web' }, 'clients'],
    [{ ...base, clients: ['web'] }, 'clients'],
    [{ ...base, clients: { web: 'x' } }, 'clients.web'],
    [{ ...base, clients: { web: null } }, 'clients.web'],
    [{ ...base, clients: { web: { secret: '' } } }, 'clients.web.secret'],
    [{ ...base, clients: { web: { secret: 1234 } } }, 'clients.web.secret'],
    [{ ...base, clients: { web: { grantTypes: 'password' } } }, 'clients.web.grantTypes'],
    [{ ...base, clients: { web: { grantTypes: [1] } } }, 'clients.web.grantTypes'],
    // strict, realm, schemeName
    [{ ...base, strict: 'yes' }, 'strict'],
    [{ ...base, strict: 1 }, 'strict'],
    [{ ...base, realm: 'my "api"' }, 'realm'],
    [{ ...base, realm: 'a\\b' }, 'realm'],
    [{ ...base, realm: '' }, 'realm'],
    [{ ...base, realm: 'ré' }, 'realm'],
    [{ ...base, realm: 'a\nb' }, 'realm'],
    [{ ...base, realm: 1 }, 'realm'],
    [{ ...base, schemeName: 'a b' }, 'schemeName'],
    [{ ...base, schemeName: '' }, 'schemeName'],
    // security
    [{ ...base, security: {} }, 'security'],
    [{ ...base, security: [1] }, 'security'],
    [{ ...base, security: [null] }, 'security'],
    [{ ...base, security: [[]] }, 'security'],
    [{ ...base, security: [{ OAuth2PasswordBearer: 'me' }] }, 'security'],
    [{ ...base, security: [{ OAuth2PasswordBearer: [1] }] }, 'security'],
    // bearerToken
    [{ ...base, bearerToken: 'query' }, 'bearerToken'],
    [{ ...base, bearerToken: { query: 'a b' } }, 'bearerToken.query'],
    [{ ...base, bearerToken: { query: '' } }, 'bearerToken.query'],
    [{ ...base, bearerToken: { query: true } }, 'bearerToken.query'],
    [{ ...base, bearerToken: { cookie: 'a;b' } }, 'bearerToken.cookie'],
    // tokenBodyLimit
    [{ ...base, tokenBodyLimit: 0 }, 'tokenBodyLimit'],
    [{ ...base, tokenBodyLimit: -1 }, 'tokenBodyLimit'],
    [{ ...base, tokenBodyLimit: 1.5 }, 'tokenBodyLimit'],
    [{ ...base, tokenBodyLimit: '4096' }, 'tokenBodyLimit'],
    [{ ...base, tokenBodyLimit: Number.POSITIVE_INFINITY }, 'tokenBodyLimit'],
    // securitySchemes
    [{ ...base, securitySchemes: 'apiKey' }, 'securitySchemes'],
    [{ ...base, securitySchemes: { 'a b': fn } }, 'securitySchemes'],
    [{ ...base, securitySchemes: { OAuth2PasswordBearer: fn } }, 'securitySchemes.OAuth2PasswordBearer'],
    [{ ...base, securitySchemes: { key: 1 } }, 'securitySchemes.key'],
    [{ ...base, securitySchemes: { key: { type: 'apiKey' } } }, 'securitySchemes.key'],
    // refreshTokens, store, revocation
    [{ ...base, refreshTokens: 'yes' }, 'refreshTokens'],
    [{ ...base, refreshTokens: { enabled: 'yes' } }, 'refreshTokens.enabled'],
    [{ ...base, refreshTokens: { idleTtl: '0m' } }, 'refreshTokens.idleTtl'],
    [{ ...base, refreshTokens: { absoluteTtl: '1x' } }, 'refreshTokens.absoluteTtl'],
    [{ ...base, refreshTokens: { idleTtl: '31d' } }, 'refreshTokens.idleTtl'],
    [{ ...base, refreshTokens: { reuseGrace: -1 } }, 'refreshTokens.reuseGrace'],
    [{ ...base, store: 'redis' }, 'store'],
    [{ ...base, store: {} }, 'store.createFamily'],
    [{ ...base, revocation: 'on' }, 'revocation'],
    [{ ...base, revocation: { onStoreError: 'ignore' } }, 'revocation.onStoreError'],
    [{ ...base, revocation: { checkAccessTokens: 1 } }, 'revocation.checkAccessTokens'],
    [{ ...base, revocation: { cacheTtl: -1 } }, 'revocation.cacheTtl'],
    [{ ...base, revocation: { cacheSize: 0 } }, 'revocation.cacheSize']
  ]
  for (const [options, option] of cases) await rejects(t, options, option)
})

t.test('messages say what was given, never a secret', async (t) => {
  t.throws(() => resolveOptions({ ...base, accessTokenTtl: '30x' }), {
    message: 'Invalid option accessTokenTtl: must be a positive number of seconds or a string like "30m", "1h", "7d" (got "30x")'
  })
  t.throws(() => resolveOptions({ ...base, tokenBodyLimit: 'x'.repeat(41) }), {
    message: 'Invalid option tokenBodyLimit: must be a positive integer (got a string of 41 characters)'
  })
  t.throws(() => resolveOptions({ ...base, scopes: [] }), { message: /\(got an array\)$/ })
  t.throws(() => resolveOptions({ ...base, bcrypt: null }), { message: /\(got null\)$/ })
  t.throws(() => resolveOptions({ ...base, realm: Buffer.from('api') }), { message: /\(got a Buffer of 3 bytes\)$/ })
  t.throws(() => resolveOptions({ ...base, scopes: { 'a b': 'x' } }), {
    message: 'Invalid option scopes: has a name that is not an RFC 6749 §3.3 scope-token: "a b" (got an object)'
  })
  for (const secret of [1234, true, '']) {
    const error = t.throws(() => resolveOptions({ ...base, clients: { svc: { secret } } }), optionError('clients.svc.secret')) as Error
    t.notMatch(error.message, /1234|true/, 'a client secret of the wrong type is not echoed')
  }
})

t.test('passwordHashing: bcrypt by default, Argon2id with OWASP defaults, bcrypt as its older spelling', async (t) => {
  const gate = { maxConcurrent: undefined, maxQueue: undefined }
  t.same(resolveOptions(base).passwordHashing, { algorithm: 'bcrypt', cost: 12, ...gate })
  t.same(resolveOptions({ ...base, passwordHashing: {} }).passwordHashing, { algorithm: 'bcrypt', cost: 12, ...gate })
  t.same(resolveOptions({ ...base, passwordHashing: { cost: 10, maxQueue: 3 } }).passwordHashing, { algorithm: 'bcrypt', cost: 10, maxConcurrent: undefined, maxQueue: 3 })
  t.same(resolveOptions({ ...base, bcrypt: { cost: 10, maxConcurrent: 2 } }).passwordHashing, { algorithm: 'bcrypt', cost: 10, maxConcurrent: 2, maxQueue: undefined })
  const argon2 = resolveOptions({ ...base, passwordHashing: { algorithm: 'argon2id' } }).passwordHashing
  t.same(argon2, { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2, parallelism: 1, ...gate }, 'OWASP: m = 19 MiB, t = 2, p = 1')
  t.ok(Object.isFrozen(argon2))
  t.same(resolveOptions({ ...base, passwordHashing: { algorithm: 'argon2id', memoryCost: 64, timeCost: 3, parallelism: 8, maxConcurrent: 1 } }).passwordHashing,
    { algorithm: 'argon2id', memoryCost: 64, timeCost: 3, parallelism: 8, maxConcurrent: 1, maxQueue: undefined })
  t.throws(() => resolveOptions({ ...base, passwordHashing: { algorithm: 'argon2id', memoryCost: 31, parallelism: 4 } }), {
    message: 'Invalid option passwordHashing.memoryCost: must be an integer from 32 to 4294967295 (got 31)'
  })
  t.throws(() => resolveOptions({ ...base, passwordHashing: { algorithm: 'argon2id', memorycost: 8 } }), {
    message: /^Invalid option passwordHashing\.memorycost: is not an option of passwordHashing; did you mean "memoryCost"\?/
  })
})

t.test('valid edge values are accepted', async (t) => {
  await accepts(t, { ...base, realm: ' !#[]~' }, 'realm of printable ASCII without quote or backslash')
  await accepts(t, { ...base, tokenUrl: '/' }, 'root path')
  await accepts(t, { ...base, bcrypt: { cost: 4, maxConcurrent: 1, maxQueue: 1 } }, 'smallest bcrypt bounds')
  await accepts(t, { ...base, scopes: { '!': 'bang', '~': 'tilde' } }, 'one-character scope names')
  await accepts(t, { ...base, tokenBodyLimit: 1 }, 'one-byte body limit')
})

t.test('isSecurityRequirement', async (t) => {
  t.equal(isSecurityRequirement({}), true)
  t.equal(isSecurityRequirement({ a: [], b: ['x', 'y'] }), true)
  t.equal(isSecurityRequirement({ a: ['x', 1] }), false)
  t.equal(isSecurityRequirement({ a: 'x' }), false)
  t.equal(isSecurityRequirement([]), false)
  t.equal(isSecurityRequirement(null), false)
  t.equal(isSecurityRequirement('a'), false)
})

t.test('unknown option keys reject register() with the nearest known name', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => { await app.register(oauth2Password, { ...base, acessTokenTtl: '5m' } as unknown as OAuth2PasswordOptions) }, {
    code: 'FST_OAUTH2_INVALID_OPTION',
    message: /^Invalid option acessTokenTtl: is not an option of the plugin; did you mean "accessTokenTtl"\?/
  })
  t.throws(() => resolveOptions({ ...base, bcrypt: { costs: 4 } }), { message: /^Invalid option bcrypt\.costs: is not an option of bcrypt; did you mean "cost"\?/ })
  t.throws(() => resolveOptions({ ...base, bearerToken: { Cookie: 'token' } }), { message: /^Invalid option bearerToken\.Cookie: .*did you mean "cookie"\?/ })
  t.throws(() => resolveOptions({ ...base, refreshTokens: { idleTTL: '1d' } }), { message: /^Invalid option refreshTokens\.idleTTL: .*did you mean "idleTtl"\?/ })
  t.throws(() => resolveOptions({ ...base, revocation: { checkAccessToken: true } }), { message: /^Invalid option revocation\.checkAccessToken: .*did you mean "checkAccessTokens"\?/ })
  t.throws(() => resolveOptions({ ...base, clients: { spa: { secrets: 'x' } } }), { message: /^Invalid option clients\.spa\.secrets: .*did you mean "secret"\?/ })
})

t.test('Fastify\'s own register options are not taken for typos', async (t) => {
  await accepts(t, { ...base, prefix: '/auth', logLevel: 'warn' }, 'prefix and logLevel')
})
