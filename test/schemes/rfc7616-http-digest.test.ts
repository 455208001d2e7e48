import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { digestHa1, httpBasic, httpDigest, memoryTokenStore, type DigestAlgorithm, type OAuth2PasswordOptions, type TokenStore } from '../../lib/index.js'
import { createDigestNonces } from '../../lib/schemes/digest-nonces.js'
import { digestHash } from '../../lib/protocol/digest-hash.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'

const REALM = 'http-auth@example.org'
const SECRET = 'a-digest-nonce-secret-of-32-bytes!!'
const PASSWORDS = new Map([['Mufasa', 'Circle of Life'], ['Jäsøn Doe', 'Secret, or not?']])

function findHa1 (username: string, realm: string, algorithm: DigestAlgorithm): string | null {
  const password = PASSWORDS.get(username)
  return password === undefined ? null : digestHa1(username, realm, password, algorithm)
}

interface Challenge { algorithm: string, nonce: string, opaque: string, stale: boolean, raw: string }

function challengesOf (header: string | string[] | undefined): Challenge[] {
  const values = header === undefined ? [] : Array.isArray(header) ? header : [header]
  return values.filter((value) => value.startsWith('Digest ')).map((raw) => ({
    algorithm: /algorithm=([^,]+)/.exec(raw)?.[1] as string,
    nonce: /nonce="([^"]+)"/.exec(raw)?.[1] as string,
    opaque: /opaque="([^"]+)"/.exec(raw)?.[1] as string,
    stale: /, stale=true$/.test(raw),
    raw
  }))
}

interface Answer {
  username?: string
  password?: string
  algorithm?: DigestAlgorithm
  method?: string
  uri: string
  nonce: string
  opaque: string
  nc?: string
  cnonce?: string
  realm?: string
  /** Directives to replace or (with `undefined`) remove, in the header as sent. */
  override?: Record<string, string | undefined>
}

const H = (algorithm: DigestAlgorithm, data: string) => createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(data, 'utf8').digest('hex')

/** An RFC 7616 client: the Authorization header for a challenge. */
function authorization (answer: Answer): string {
  const algorithm = answer.algorithm ?? 'SHA-256'
  const username = answer.username ?? 'Mufasa'
  const realm = answer.realm ?? REALM
  const nc = answer.nc ?? '00000001'
  const cnonce = answer.cnonce ?? 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ'
  const ha1 = H(algorithm, `${username}:${realm}:${answer.password ?? PASSWORDS.get(username) ?? 'x'}`)
  const ha2 = H(algorithm, `${answer.method ?? 'GET'}:${answer.uri}`)
  const response = H(algorithm, `${ha1}:${answer.nonce}:${nc}:${cnonce}:auth:${ha2}`)
  const directives: Record<string, string | undefined> = {
    username: `"${username}"`,
    realm: `"${realm}"`,
    uri: `"${answer.uri}"`,
    algorithm,
    nonce: `"${answer.nonce}"`,
    nc,
    cnonce: `"${cnonce}"`,
    qop: 'auth',
    response: `"${response}"`,
    opaque: `"${answer.opaque}"`,
    ...answer.override
  }
  return 'Digest ' + Object.entries(directives).filter(([, value]) => value !== undefined).map(([name, value]) => `${name}=${value}`).join(', ')
}

async function digestApp (t: Test, options: Partial<Parameters<typeof httpDigest>[0]> = {}, plugin: Partial<OAuth2PasswordOptions> = {}) {
  const { app } = await buildSchemeApp({ ...plugin, securitySchemes: { Digest: httpDigest({ realm: REALM, findHa1, nonceSecret: SECRET, ...options }) } }, (app) => {
    app.get('/dir/index.html', { schema: { security: [{ Digest: [] }] } }, whoami)
    app.head('/dir/head', { schema: { security: [{ Digest: [] }] } }, async () => '')
    app.post('/dir/post', { schema: { security: [{ Digest: [] }] } }, whoami)
  })
  t.teardown(() => app.close())
  return app
}

async function challenge (app: FastifyInstance, url = '/dir/index.html'): Promise<Challenge[]> {
  const response = await app.inject({ url })
  return challengesOf(response.headers['www-authenticate'])
}

t.test('RFC 7616 §3.9.1: the example\'s responses, SHA-256 and MD5', async (t) => {
  const nonce = '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v'
  const cnonce = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ'
  for (const [algorithm, expected] of [['MD5', '8ca523f5e9506fed4657c9700eebdbec'], ['SHA-256', '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1']] as const) {
    const ha1 = digestHa1('Mufasa', REALM, 'Circle of Life', algorithm)
    const ha2 = digestHash(algorithm, 'GET:/dir/index.html')
    t.equal(digestHash(algorithm, `${ha1}:${nonce}:00000001:${cnonce}:auth:${ha2}`), expected, algorithm)
  }
})

t.test('RFC 7616 §3.3, §3.7: no credentials, 401 with one challenge per algorithm, preferred first', async (t) => {
  const app = await digestApp(t, { algorithms: ['SHA-256', 'MD5'] })
  const response = await app.inject({ url: '/dir/index.html' })
  t.equal(response.statusCode, 401)
  t.same(response.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  const header = response.headers['www-authenticate'] as string[]
  t.equal(header.length, 2)
  const [sha, md5] = challengesOf(header) as [Challenge, Challenge]
  t.equal(sha.nonce, md5.nonce, 'one nonce for both algorithms')
  t.equal(sha.opaque, md5.opaque)
  t.match(sha.nonce, /^[A-Za-z0-9_-]{48}$/)
  t.equal(header[0], `Digest realm="${REALM}", qop="auth", algorithm=SHA-256, nonce="${sha.nonce}", opaque="${sha.opaque}", charset=UTF-8`)
  t.equal(header[1], `Digest realm="${REALM}", qop="auth", algorithm=MD5, nonce="${sha.nonce}", opaque="${sha.opaque}", charset=UTF-8`)
  const again = await challenge(app)
  t.not(again[0]?.nonce, sha.nonce, 'a fresh nonce every time')
})

t.test('RFC 7616 §3.4: a correct response authenticates; the principal is the username', async (t) => {
  const app = await digestApp(t, { algorithms: ['SHA-256', 'MD5'] })
  for (const algorithm of ['SHA-256', 'MD5'] as const) {
    const [first] = await challenge(app) as [Challenge]
    const response = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ algorithm, uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque }) } })
    t.equal(response.statusCode, 200, algorithm)
    t.same(response.json(), { scheme: 'Digest', principal: { username: 'Mufasa' }, scopes: [] })
  }
})

t.test('RFC 7616 §3.4.3: the method and the full request-target (query included) are covered', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  const post = await app.inject({ method: 'POST', url: '/dir/post?x=1&y=%20', headers: { authorization: authorization({ method: 'POST', uri: '/dir/post?x=1&y=%20', nonce: first.nonce, opaque: first.opaque }) } })
  t.equal(post.statusCode, 200)
  const wrongMethod = await app.inject({ method: 'POST', url: '/dir/post', headers: { authorization: authorization({ method: 'GET', uri: '/dir/post', nonce: first.nonce, opaque: first.opaque, nc: '00000002' }) } })
  t.equal(wrongMethod.statusCode, 401)
  const head = await app.inject({ method: 'HEAD', url: '/dir/head', headers: { authorization: authorization({ method: 'HEAD', uri: '/dir/head', nonce: first.nonce, opaque: first.opaque, nc: '00000003' }) } })
  t.equal(head.statusCode, 200)
})

t.test('RFC 7616 §3.4.6: a uri that is not the request target is 400', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  const response = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/other.html', nonce: first.nonce, opaque: first.opaque }) } })
  t.equal(response.statusCode, 400)
  t.same(response.json(), errorBody(400, 'FST_OAUTH2_MALFORMED_CREDENTIALS', 'The Digest uri does not match the request target'))
  t.match(response.headers['www-authenticate'], /^Digest realm=/)
})

t.test('wrong password and unknown user: one 401, a fresh challenge without stale', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  for (const answer of [{ password: 'wrong' }, { username: 'Scar', password: 'Circle of Life' }]) {
    const response = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ ...answer, uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque }) } })
    t.equal(response.statusCode, 401)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'Incorrect username or password'))
    const [next] = challengesOf(response.headers['www-authenticate'])
    t.equal(next?.stale, false)
  }
})

t.test('a stored HA1 that is not a digest of the algorithm counts as an unknown user', async (t) => {
  const app = await digestApp(t, { findHa1: async () => 'not-hex' })
  const [first] = await challenge(app) as [Challenge]
  const response = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque }) } })
  t.equal(response.statusCode, 401)
  t.equal(response.json().message, 'Incorrect username or password')
})

t.test('RFC 7616 §3.4: a replayed nonce-count is refused with stale=true; new counts pass, in any order within the window', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  const send = async (nc: string) => await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque, nc }) } })
  t.equal((await send('00000001')).statusCode, 200)
  const replay = await send('00000001')
  t.equal(replay.statusCode, 401)
  t.same(replay.json(), errorBody(401, 'FST_OAUTH2_STALE_NONCE', 'The nonce is stale: retry with the new one'))
  const [next] = challengesOf(replay.headers['www-authenticate']) as [Challenge]
  t.equal(next.stale, true)
  t.not(next.nonce, first.nonce)
  t.equal((await send('00000003')).statusCode, 200)
  t.equal((await send('00000002')).statusCode, 200, 'an overtaken request still counts')
  t.equal((await send('00000002')).statusCode, 401)
  t.equal((await send('0000002A')).statusCode, 200)
  t.equal((await send('00000009')).statusCode, 401, 'more than 32 counts behind: too old to tell')
  t.equal((await send('0000004a')).statusCode, 200, 'lowercase hex is the same count space')
  t.equal((await send('0000004A')).statusCode, 401)
})

t.test('RFC 7616 §3.3: an expired nonce with a correct response gets stale=true', async (t) => {
  const app = await digestApp(t, { nonceTtl: 60 })
  const [first] = await challenge(app) as [Challenge]
  // A nonce this server issued (same secret) two minutes ago
  const old = createDigestNonces({ ttlMs: 60_000, maxTracked: 1, secret: Buffer.from(SECRET), now: () => Date.now() - 120_000 }).issue()
  const response = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce: old, opaque: first.opaque }) } })
  t.equal(response.statusCode, 401)
  t.equal(response.json().code, 'FST_OAUTH2_STALE_NONCE')
  const [next] = challengesOf(response.headers['www-authenticate']) as [Challenge]
  t.equal(next.stale, true)
  t.match(next.raw, /charset=UTF-8, stale=true$/)
  // The same old nonce with a wrong password is just wrong: stale is only for correct responses
  const wrong = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ password: 'nope', uri: '/dir/index.html', nonce: old, opaque: first.opaque }) } })
  t.equal(wrong.json().code, 'FST_OAUTH2_INVALID_CREDENTIALS')
})

t.test('a nonce this server did not issue is 401 without stale', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  const foreign = createDigestNonces({ ttlMs: 60_000, maxTracked: 1 }).issue()
  for (const nonce of [foreign, '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', `${first.nonce.slice(0, -1)}${first.nonce.endsWith('A') ? 'B' : 'A'}`]) {
    const response = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce, opaque: first.opaque }) } })
    t.equal(response.statusCode, 401)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'The nonce was not issued by this server'))
    t.equal(challengesOf(response.headers['www-authenticate'])[0]?.stale, false)
  }
})

t.test('RFC 7616 §3.4.4, RFC 8187: username* carries a UTF-8 name; quoted UTF-8 works too', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  const name = 'Jäsøn Doe'
  const extended = authorization({ username: name, uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque, override: { username: undefined, 'username*': `UTF-8''${encodeURIComponent(name)}` } })
  const response = await app.inject({ url: '/dir/index.html', headers: { authorization: extended } })
  t.equal(response.statusCode, 200)
  t.same(response.json().principal, { username: name })
  // Raw UTF-8 bytes in the quoted string reach Node as latin1 characters
  const raw = authorization({ username: name, uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque, nc: '00000002' })
  const rawResponse = await app.inject({ url: '/dir/index.html', headers: { authorization: Buffer.from(raw, 'utf8').toString('latin1') } })
  t.equal(rawResponse.statusCode, 200)
})

t.test('deployed clients: quoted algorithm and qop, uppercase hex, no algorithm meaning MD5', async (t) => {
  const app = await digestApp(t, { algorithms: ['SHA-256', 'MD5'] })
  const [first] = await challenge(app) as [Challenge]
  const base = { uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque }
  const quoted = authorization({ ...base, override: { algorithm: '"SHA-256"', qop: '"auth"' } })
  t.equal((await app.inject({ url: '/dir/index.html', headers: { authorization: quoted } })).statusCode, 200)
  const upper = authorization({ ...base, nc: '00000002' }).replace(/response="([0-9a-f]+)"/, (_all, hex: string) => `response="${hex.toUpperCase()}"`)
  t.equal((await app.inject({ url: '/dir/index.html', headers: { authorization: upper } })).statusCode, 200)
  const implicitMd5 = authorization({ ...base, algorithm: 'MD5', nc: '00000003', override: { algorithm: undefined } })
  t.equal((await app.inject({ url: '/dir/index.html', headers: { authorization: implicitMd5 } })).statusCode, 200)
  const spaced = authorization({ ...base, nc: '00000004' }).replace(/, /g, ' ,\t').replace('Digest ', 'digest   ')
  t.equal((await app.inject({ url: '/dir/index.html', headers: { authorization: spaced } })).statusCode, 200)
})

t.test('malformed or unacceptable credentials are 401, never 5xx', async (t) => {
  const app = await digestApp(t)
  const [first] = await challenge(app) as [Challenge]
  const base = { uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque }
  const cases: Array<[string, string]> = [
    ['Digest', 'send exactly one of username and username*'],
    ['Digest ,, ,', 'send exactly one of username and username*'],
    ['Digest username', 'the header does not follow RFC 7616 §3.4'],
    ['Digest username=', 'the header does not follow RFC 7616 §3.4'],
    ['Digest username="Mufasa', 'the header does not follow RFC 7616 §3.4'],
    ['Digest username="Mufasa" realm="x"', 'the header does not follow RFC 7616 §3.4'],
    ['Digest username="a", username="b"', 'the header does not follow RFC 7616 §3.4'],
    ['Digest @=1', 'the header does not follow RFC 7616 §3.4'],
    ['Digest username="\xff"', 'the header does not follow RFC 7616 §3.4'],
    [`Digest ${Array.from({ length: 40 }, (_, i) => `p${i}=1`).join(', ')}`, 'the header does not follow RFC 7616 §3.4'],
    [authorization({ ...base, override: { 'username*': "UTF-8''x" } }), 'send exactly one of username and username*'],
    [authorization({ ...base, override: { username: undefined } }), 'send exactly one of username and username*'],
    [authorization({ ...base, override: { username: undefined, 'username*': "ISO-8859-1''x" } }), 'the username is not valid'],
    [authorization({ ...base, override: { username: undefined, 'username*': "UTF-8''%FF" } }), 'the username is not valid'],
    [authorization({ ...base, override: { username: undefined, 'username*': "UTF-8''a%01b" } }), 'the username is not valid'],
    [authorization({ ...base, override: { algorithm: 'MD5' } }), 'the algorithm is not accepted'],
    [authorization({ ...base, override: { algorithm: 'SHA-256-sess' } }), 'the algorithm is not accepted'],
    [authorization({ ...base, override: { algorithm: undefined } }), 'the algorithm is not accepted'],
    [authorization({ ...base, override: { userhash: 'TRUE' } }), 'userhash is not offered'],
    [authorization({ ...base, override: { realm: undefined } }), '"realm" is missing'],
    [authorization({ ...base, override: { realm: '"elsewhere"' } }), 'the realm is not this server\'s'],
    [authorization({ ...base, override: { qop: undefined } }), '"qop" is missing'],
    [authorization({ ...base, override: { qop: 'auth-int' } }), 'qop must be "auth"'],
    [authorization({ ...base, override: { nc: undefined } }), '"nc" is missing'],
    [authorization({ ...base, override: { nc: '1' } }), 'nc must be 8 hexadecimal digits, from 00000001'],
    [authorization({ ...base, override: { nc: '00000000' } }), 'nc must be 8 hexadecimal digits, from 00000001'],
    [authorization({ ...base, override: { nc: '0000000g' } }), 'nc must be 8 hexadecimal digits, from 00000001'],
    [authorization({ ...base, override: { response: undefined } }), '"response" is missing'],
    [authorization({ ...base, override: { response: '"abc"' } }), 'the response is not a digest of the algorithm'],
    [authorization({ ...base, override: { response: `"${'z'.repeat(64)}"` } }), 'the response is not a digest of the algorithm'],
    [authorization({ ...base, override: { opaque: undefined } }), 'opaque is not this server\'s'],
    [authorization({ ...base, override: { opaque: '"other"' } }), 'opaque is not this server\'s'],
    [authorization({ ...base, override: { nonce: '""' } }), '"nonce" is missing'],
    [authorization({ ...base, override: { uri: undefined } }), '"uri" is missing'],
    [authorization({ ...base, override: { cnonce: undefined } }), '"cnonce" is missing']
  ]
  for (const [header, problem] of cases) {
    const response = await app.inject({ url: '/dir/index.html', headers: { authorization: header } })
    t.equal(response.statusCode, 401, header)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', `The Digest credentials are malformed: ${problem}`), header)
    t.match(response.headers['www-authenticate'], /^Digest realm=/)
  }
})

t.test('other schemes are not Digest credentials: 401 missing', async (t) => {
  const app = await digestApp(t)
  for (const authorization of ['Basic TXVmYXNhOkNpcmNsZQ==', 'Digestive x=1', 'Bearer x']) {
    const response = await app.inject({ url: '/dir/index.html', headers: { authorization } })
    t.equal(response.json().code, 'FST_OAUTH2_MISSING_CREDENTIALS', authorization)
  }
})

t.test('with other schemes: the Digest challenges sit beside theirs, one header field each', async (t) => {
  const { app } = await buildSchemeApp({
    securitySchemes: { Digest: httpDigest({ realm: REALM, findHa1, algorithms: ['SHA-256', 'MD5'] }), Basic: httpBasic() }
  }, (app) => { app.get('/r', { schema: { security: [{ Digest: [] }, { Basic: [] }] } }, whoami) })
  t.teardown(() => app.close())
  const response = await app.inject({ url: '/r' })
  const header = response.headers['www-authenticate'] as string[]
  t.equal(header.length, 3)
  t.match(header[0], /^Digest .*algorithm=SHA-256/)
  t.match(header[1], /^Digest .*algorithm=MD5/)
  t.equal(header[2], 'Basic realm="api", charset="UTF-8"')
})

t.test('OpenAPI: an http/digest scheme, exactly', async (t) => {
  const app = await digestApp(t, { description: 'Digest for legacy clients' })
  const document = openapi(app)
  t.same(document.components.securitySchemes.Digest, { type: 'http', scheme: 'digest', description: 'Digest for legacy clients' })
  t.same(document.paths['/dir/index.html']?.get?.security, [{ Digest: [] }])
  const { app: plain } = await buildSchemeApp({ securitySchemes: { D: httpDigest({ realm: 'r', findHa1 }) } }, () => {})
  t.teardown(() => plain.close())
  t.same(openapi(plain).components.securitySchemes.D, { type: 'http', scheme: 'digest' })
})

t.test('Digest carries no scopes: requiring one fails at startup', async (t) => {
  await t.rejects(buildSchemeApp({ securitySchemes: { D: httpDigest({ realm: 'r', findHa1 }) } }, (app) => {
    app.get('/x', { schema: { security: [{ D: ['me'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
})

t.test('bad options are refused when the factory is called', async (t) => {
  const bad: Array<[unknown, string]> = [
    [undefined, 'httpDigest()'],
    [{ findHa1 }, 'httpDigest().realm'],
    [{ realm: 'a"b', findHa1 }, 'httpDigest().realm'],
    [{ realm: 'r' }, 'httpDigest().findHa1'],
    [{ realm: 'r', findHa1, algorithms: [] }, 'httpDigest().algorithms'],
    [{ realm: 'r', findHa1, algorithms: ['SHA-512'] }, 'httpDigest().algorithms'],
    [{ realm: 'r', findHa1, algorithms: ['MD5', 'MD5'] }, 'httpDigest().algorithms'],
    [{ realm: 'r', findHa1, nonceTtl: 0 }, 'httpDigest().nonceTtl'],
    [{ realm: 'r', findHa1, nonceSecret: 'short' }, 'httpDigest().nonceSecret'],
    [{ realm: 'r', findHa1, nonceSecret: 42 }, 'httpDigest().nonceSecret'],
    [{ realm: 'r', findHa1, maxTrackedNonces: 0 }, 'httpDigest().maxTrackedNonces'],
    [{ realm: 'r', findHa1, description: '' }, 'httpDigest().description']
  ]
  for (const [options, option] of bad) {
    t.throws(() => httpDigest(options as never), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replace(/[()]/g, '\\$&')}:`) }, option)
  }
  t.doesNotThrow(() => httpDigest({ realm: 'r', findHa1, nonceSecret: Buffer.alloc(32), maxTrackedNonces: 5 }))
})

t.test('RFC 7616 §3.4: with a shared store, a request accepted by one instance is a replay on the other', async (t) => {
  const store = memoryTokenStore()
  const a = await digestApp(t, {}, { store })
  const b = await digestApp(t, {}, { store })
  const [first] = await challenge(a) as [Challenge]
  const send = async (app: FastifyInstance, nc: string) => await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque, nc }) } })
  t.equal((await send(a, '00000001')).statusCode, 200)
  const replay = await send(b, '00000001')
  t.equal(replay.statusCode, 401, 'the other instance knows the count was used')
  t.equal(replay.json().code, 'FST_OAUTH2_STALE_NONCE')
  t.equal((await send(b, '00000002')).statusCode, 200, 'the same nonce and opaque work there with a new count')
  t.equal((await send(a, '00000002')).statusCode, 401)
})

t.test('shared nonce-counts: an expired nonce is stale without asking the store; a store down is 503', async (t) => {
  let calls = 0
  const failing = Object.assign(Object.create(memoryTokenStore()) as TokenStore, {
    async useNonceCount () {
      calls++
      throw new Error('Connection is closed.')
    }
  })
  const app = await digestApp(t, { nonceTtl: 60 }, { store: failing })
  const [first] = await challenge(app) as [Challenge]
  const old = createDigestNonces({ ttlMs: 60_000, maxTracked: 1, secret: Buffer.from(SECRET), now: () => Date.now() - 120_000 }).issue()
  const expired = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce: old, opaque: first.opaque }) } })
  t.equal(expired.json().code, 'FST_OAUTH2_STALE_NONCE')
  t.equal(calls, 0)
  const down = await app.inject({ url: '/dir/index.html', headers: { authorization: authorization({ uri: '/dir/index.html', nonce: first.nonce, opaque: first.opaque }) } })
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE')
})
