import { Buffer } from 'node:buffer'
import { Writable } from 'node:stream'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { InvalidGrantError, TemporarilyUnavailableError, type OAuth2Error, type OAuth2PasswordOptions } from '../../lib/index.js'
import { hashPassword } from '../../lib/passwords/bcrypt.js'
import { buildApp, PASSWORD, postForm, type TestApp } from '../helpers/build-app.js'

// RFC 6749 §3.2 / §4.3 / §5 as the token endpoint answers it: the password grant's
// success (§4.3.3, §5.1), every error (§5.2), and what never leaks from either.

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
const JSON_TYPE = 'application/json; charset=utf-8'
const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Incorrect username or password' }
const BAD_ENCODING = { error: 'invalid_request', error_description: 'The request body is not valid form encoding' }
const WRONG_MEDIA_TYPE = { error: 'invalid_request', error_description: 'The request body must be application/x-www-form-urlencoded' }

function invalidRequest (description: string) {
  return { error: 'invalid_request', error_description: description }
}

function invalidScope (description: string) {
  return { error: 'invalid_scope', error_description: description }
}

async function tokenApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}, server = {}): Promise<TestApp> {
  const built = await buildApp(options, () => {}, server)
  t.teardown(() => built.app.close())
  return built
}

function payloadOf (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'))
}

/** Asserts an RFC 6749 §5.2 answer: status, no-store headers, no challenge unless 401, exact body. */
function assertError (t: Test, response: LightMyRequestResponse, statusCode: number, body: unknown, message?: string): void {
  t.equal(response.statusCode, statusCode, message ?? 'status')
  t.match(response.headers, { ...NO_STORE, 'content-type': JSON_TYPE }, 'no-store headers')
  t.equal(response.headers['www-authenticate'], undefined, 'no challenge')
  t.same(response.json(), body, message ?? 'body')
}

/** Asserts an RFC 6749 §5.1 answer and returns the access token's payload. */
function assertTokens (t: Test, response: LightMyRequestResponse, scope: string, expiresIn = 1800): Record<string, unknown> {
  t.equal(response.statusCode, 200, 'status')
  t.match(response.headers, { ...NO_STORE, 'content-type': JSON_TYPE }, 'RFC 6749 §5.1 no-store headers')
  const body = response.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'exactly the §5.1 members')
  t.match(body, { access_token: /^[\w-]+\.[\w-]+\.[\w-]+$/, token_type: 'bearer', expires_in: expiresIn, scope })
  const payload = payloadOf(body.access_token)
  t.equal(payload.scope, scope, 'the token carries the granted scope')
  t.equal((payload.exp as number) - (payload.iat as number), expiresIn, 'exp - iat = ttl')
  return payload
}

/** A response without its Date header, for comparing whole answers. */
function whole (response: LightMyRequestResponse) {
  const { date, ...headers } = response.headers
  return { statusCode: response.statusCode, headers, body: response.body }
}

t.test('§4.3.2 / §5.1: a password grant answers the tokens', async (t) => {
  const { app } = await tokenApp(t)
  const response = await postForm(app, { grant_type: 'password', username: 'johndoe', password: PASSWORD })
  const payload = assertTokens(t, response, 'me items')
  t.same(Object.keys(payload).sort(), ['exp', 'iat', 'jti', 'scope', 'sub'])
  t.equal(payload.sub, 'johndoe')
  t.match(app.oauth2.verifyAccessToken(response.json().access_token), { sub: 'johndoe', scope: 'me items' }, 'the token verifies')
})

t.test('§5.1: expires_in follows accessTokenTtl', async (t) => {
  const { app } = await tokenApp(t, { accessTokenTtl: '5m' })
  assertTokens(t, await postForm(app, { username: 'johndoe', password: PASSWORD }), 'me items', 300)
})

t.test('§5.1: a refresh_token is added when refresh tokens are enabled', async (t) => {
  const { app } = await tokenApp(t, { refreshTokens: true })
  const response = await postForm(app, { username: 'bob', password: PASSWORD })
  t.equal(response.statusCode, 200)
  t.match(response.headers, NO_STORE)
  const body = response.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.match(body, { token_type: 'bearer', expires_in: 1800, scope: 'me', refresh_token: /^\S{20,}$/ })
})

t.test('a missing grant_type is taken as password unless strict', async (t) => {
  const { app } = await tokenApp(t)
  assertTokens(t, await postForm(app, { username: 'johndoe', password: PASSWORD }), 'me items')
  assertTokens(t, await postForm(app, { grant_type: '', username: 'johndoe', password: PASSWORD }), 'me items', 1800)
})

t.test('strict: true requires grant_type (§4.3.2)', async (t) => {
  const { app } = await tokenApp(t, { strict: true })
  const missing = invalidRequest('The grant_type parameter is missing')
  assertError(t, await postForm(app, { username: 'johndoe', password: PASSWORD }), 400, missing)
  assertError(t, await postForm(app, { grant_type: '', username: 'johndoe', password: PASSWORD }), 400, missing, 'empty is omitted (§3.1)')
  assertTokens(t, await postForm(app, { grant_type: 'password', username: 'johndoe', password: PASSWORD }), 'me items')
})

t.test('§3.3: granted scope = requested ∩ allowed, all allowed when none requested', async (t) => {
  const { app, users } = await tokenApp(t)
  const cases: Array<[string, string | undefined, string]> = [
    ['johndoe', undefined, 'me items'],
    ['johndoe', 'items', 'items'],
    ['johndoe', 'items me', 'items me'],
    ['johndoe', 'me me', 'me'],
    ['bob', undefined, 'me'],
    ['bob', 'me items', 'me'],
    ['bob', 'items me', 'me']
  ]
  for (const [username, scope, granted] of cases) {
    const form: Record<string, string> = { username, password: PASSWORD }
    if (scope !== undefined) form.scope = scope
    assertTokens(t, await postForm(app, form), granted)
  }
  assertTokens(t, await postForm(app, { username: 'johndoe', password: PASSWORD, scope: '' }), 'me items', 1800)

  const john = users.get('johndoe')
  users.set('carol', { ...john!, id: 'carol', username: 'carol', scopes: ['admin', 'items'] })
  assertTokens(t, await postForm(app, { username: 'carol', password: PASSWORD }), 'items')
  users.set('dave', { ...john!, id: 'dave', username: 'dave', scopes: undefined })
  assertTokens(t, await postForm(app, { username: 'dave', password: PASSWORD }), '')
})

t.test('§5.2 invalid_scope', async (t) => {
  const { app } = await tokenApp(t)
  assertError(t, await postForm(app, { username: 'bob', password: PASSWORD, scope: 'items' }), 400,
    invalidScope('None of the requested scopes may be granted to this user'))
  for (const scope of ['admin', 'me admin', 'ME']) {
    assertError(t, await postForm(app, { username: 'johndoe', password: PASSWORD, scope }), 400,
      invalidScope('The requested scope is not declared by this server'), scope)
  }
  for (const scope of ['me  items', ' me', 'me ', ' ', 'me "items"', 'me\\', 'mé', 'me\titems', 'me\nitems']) {
    assertError(t, await postForm(app, { username: 'johndoe', password: PASSWORD, scope }), 400,
      invalidScope('The scope parameter is malformed'), JSON.stringify(scope))
  }
})

t.test('§5.2 invalid_request: a required parameter is missing or empty', async (t) => {
  const { app } = await tokenApp(t)
  const username = invalidRequest('The username parameter is missing')
  const password = invalidRequest('The password parameter is missing')
  assertError(t, await postForm(app, { password: PASSWORD }), 400, username)
  assertError(t, await postForm(app, { username: '', password: PASSWORD }), 400, username, 'empty username')
  assertError(t, await postForm(app, 'username&password=secret'), 400, username, 'username without =')
  assertError(t, await postForm(app, { username: 'johndoe' }), 400, password)
  assertError(t, await postForm(app, { username: 'johndoe', password: '' }), 400, password, 'empty password')
  assertError(t, await postForm(app, { grant_type: 'password' }), 400, username, 'username first')
})

t.test('§3.2 invalid_request: repeated parameters', async (t) => {
  const { app } = await tokenApp(t)
  for (const name of ['grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret']) {
    assertError(t, await postForm(app, `username=johndoe&password=secret&${name}=a&${name}=b`), 400,
      invalidRequest(`The ${name} parameter is repeated`), name)
  }
  const response = await postForm(app, 'username=johndoe&password=secret&x-private-name=1&x-private-name=2')
  assertError(t, response, 400, invalidRequest('A request parameter is repeated'))
  t.notMatch(response.body, 'x-private-name', 'an unknown name is not echoed')
})

t.test('§5.2 invalid_request: malformed form encoding', async (t) => {
  const { app } = await tokenApp(t)
  for (const body of ['username=%ZZ&password=secret', 'username=johndoe&password=%', 'username=%FF&password=secret', 'username=johndoe&password=%C3%28', '%ZZ=1&username=johndoe&password=secret']) {
    assertError(t, await postForm(app, body), 400, BAD_ENCODING, body)
  }
  const raw = Buffer.concat([Buffer.from('username=johndoe&password=sec'), Buffer.from([0xff]), Buffer.from('ret')])
  const response = await app.inject({ method: 'POST', url: '/token', payload: raw, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  assertError(t, response, 400, BAD_ENCODING, 'raw invalid UTF-8 is refused, not replaced by U+FFFD')
})

t.test('§5.2 invalid_request: only application/x-www-form-urlencoded bodies', async (t) => {
  const { app } = await tokenApp(t)
  const cases: Array<[string, string | undefined, string]> = [
    ['JSON', 'application/json', JSON.stringify({ username: 'johndoe', password: PASSWORD })],
    ['multipart', 'multipart/form-data; boundary=x', '--x\r\nContent-Disposition: form-data; name="username"\r\n\r\njohndoe\r\n--x--\r\n'],
    ['text/plain', 'text/plain', 'username=johndoe&password=secret'],
    ['a lookalike type', 'application/x-www-form-urlencodedx', 'username=johndoe&password=secret']
  ]
  for (const [label, type, payload] of cases) {
    const response = await app.inject({ method: 'POST', url: '/token', payload, headers: { 'content-type': type } })
    assertError(t, response, 400, WRONG_MEDIA_TYPE, label)
  }
  const untyped = await app.inject({ method: 'POST', url: '/token', payload: 'username=johndoe&password=secret', headers: { 'content-type': '' } })
  assertError(t, untyped, 400, WRONG_MEDIA_TYPE, 'a body without a content type')
})

t.test('the form media type is matched case-insensitively, with parameters', async (t) => {
  const { app } = await tokenApp(t)
  for (const type of ['application/x-www-form-urlencoded; charset=UTF-8', 'Application/X-WWW-Form-Urlencoded', 'application/x-www-form-urlencoded ; charset=utf-8']) {
    const response = await app.inject({ method: 'POST', url: '/token', payload: 'username=johndoe&password=secret', headers: { 'content-type': type } })
    assertTokens(t, response, 'me items')
  }
})

t.test('§5.2 invalid_request: an empty request', async (t) => {
  const { app } = await tokenApp(t)
  const missing = invalidRequest('The username parameter is missing')
  assertError(t, await app.inject({ method: 'POST', url: '/token' }), 400, missing, 'no body, no content type')
  assertError(t, await postForm(app, ''), 400, missing, 'an empty form')
  assertError(t, await postForm(app, '&&'), 400, missing, 'a form of empty pairs')
})

t.test('§5.2 invalid_request: a body over tokenBodyLimit, or of the wrong length', async (t) => {
  const { app } = await tokenApp(t, { tokenBodyLimit: 100 })
  const form = `username=johndoe&password=wrong&pad=${'x'.repeat(100 - 'username=johndoe&password=wrong&pad='.length)}`
  t.equal(form.length, 100)
  assertError(t, await postForm(app, form), 400, BAD_CREDENTIALS, 'exactly the limit is read')
  assertError(t, await postForm(app, `${form}x`), 400, invalidRequest('The request body is too large'), 'one byte over')
  const short = await app.inject({ method: 'POST', url: '/token', payload: 'username=johndoe&password=secret', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '5' } })
  assertError(t, short, 400, invalidRequest('The request body length is invalid'), 'content-length shorter than the body')
})

t.test('the default body limit is 4096 bytes', async (t) => {
  const { app } = await tokenApp(t)
  const prefix = 'username=johndoe&password=secret&pad='
  assertTokens(t, await postForm(app, prefix + 'x'.repeat(4096 - prefix.length)), 'me items')
  assertError(t, await postForm(app, prefix + 'x'.repeat(4097 - prefix.length)), 400, invalidRequest('The request body is too large'))
})

t.test('§5.2 unsupported_grant_type', async (t) => {
  const { app } = await tokenApp(t)
  const unsupported = { error: 'unsupported_grant_type', error_description: 'The grant type is not supported' }
  for (const grantType of ['client_credentials', 'authorization_code', 'refresh_token', 'PASSWORD', 'urn:ietf:params:oauth:grant-type:jwt-bearer', '__proto__']) {
    const response = await postForm(app, { grant_type: grantType, username: 'johndoe', password: PASSWORD })
    assertError(t, response, 400, unsupported, grantType)
  }
})

t.test('§5.2 invalid_grant: wrong password, unknown user and disabled user get the same answer', async (t) => {
  const { app } = await tokenApp(t)
  const wrongPassword = await postForm(app, { username: 'johndoe', password: 'not-the-password' })
  const unknownUser = await postForm(app, { username: 'nobody', password: PASSWORD })
  const disabledUser = await postForm(app, { username: 'alice', password: PASSWORD })
  const disabledWrong = await postForm(app, { username: 'alice', password: 'not-the-password' })
  assertError(t, wrongPassword, 400, BAD_CREDENTIALS)
  t.same(whole(unknownUser), whole(wrongPassword), 'unknown user = wrong password')
  t.same(whole(disabledUser), whole(wrongPassword), 'disabled user = wrong password')
  t.same(whole(disabledWrong), whole(wrongPassword), 'disabled user, wrong password = wrong password')
})

t.test('a stored hash that is not bcrypt never matches', async (t) => {
  const { app, users } = await tokenApp(t)
  users.set('legacy', { id: 'legacy', username: 'legacy', fullName: 'Legacy', passwordHash: 'secret', scopes: ['me'] })
  users.set('blank', { id: 'blank', username: 'blank', fullName: 'Blank', passwordHash: '', scopes: ['me'] })
  assertError(t, await postForm(app, { username: 'legacy', password: 'secret' }), 400, BAD_CREDENTIALS, 'a plain-text "hash"')
  assertError(t, await postForm(app, { username: 'blank', password: 'secret' }), 400, BAD_CREDENTIALS, 'an empty hash')
})

t.test('malformed credentials are invalid_request: NUL in the password, control characters in the username', async (t) => {
  const { app } = await tokenApp(t)
  for (const password of ['secret\0', '\0', 'sec\0ret']) {
    assertError(t, await postForm(app, { username: 'johndoe', password }), 400, invalidRequest('The password parameter is malformed'), JSON.stringify(password))
  }
  for (const username of ['john\x00doe', 'johndoe\n', '\tjohndoe', 'john\rdoe', 'john\x1Fdoe', 'john\x7Fdoe']) {
    assertError(t, await postForm(app, { username, password: PASSWORD }), 400, invalidRequest('The username parameter is malformed'), JSON.stringify(username))
  }
  assertError(t, await postForm(app, { username: 'johndoe', password: 'tab\there' }), 400, BAD_CREDENTIALS, 'other control characters are a password like any other')
})

t.test('passwords: 72 UTF-8 bytes accepted, 73 refused, never truncated', async (t) => {
  const { app, users } = await tokenApp(t)
  const euro72 = '€'.repeat(24)
  const ascii72 = 'p'.repeat(72)
  t.equal(Buffer.byteLength(euro72), 72)
  users.set('euro', { id: 'euro', username: 'euro', fullName: 'Euro', passwordHash: await hashPassword(euro72, { cost: 4 }), scopes: ['me'] })
  users.set('ascii', { id: 'ascii', username: 'ascii', fullName: 'Ascii', passwordHash: await hashPassword(ascii72, { cost: 4 }), scopes: ['me'] })
  const tooLong = invalidRequest('The password parameter is longer than 72 bytes')
  assertTokens(t, await postForm(app, { username: 'euro', password: euro72 }), 'me')
  assertTokens(t, await postForm(app, { username: 'ascii', password: ascii72 }), 'me')
  assertError(t, await postForm(app, { username: 'euro', password: `${euro72}x` }), 400, tooLong, '73 bytes whose first 72 match')
  assertError(t, await postForm(app, { username: 'ascii', password: `${ascii72}p` }), 400, tooLong, '73 ASCII bytes whose first 72 match')
  assertError(t, await postForm(app, { username: 'ascii', password: `${'p'.repeat(71)}é` }), 400, tooLong, '71 + 2 bytes')
  assertError(t, await postForm(app, { username: 'nobody', password: 'x'.repeat(1000) }), 400, tooLong, 'refused before looking the user up')
})

t.test('+ in the form is a space', async (t) => {
  const { app, users } = await tokenApp(t)
  users.set('john doe', { id: 'john doe', username: 'john doe', fullName: 'John Doe II', passwordHash: await hashPassword('my secret', { cost: 4 }), scopes: ['me'] })
  assertTokens(t, await postForm(app, 'username=john+doe&password=my+secret&scope=me'), 'me')
  assertTokens(t, await postForm(app, 'username=john%20doe&password=my%20secret&scope=me+me'), 'me')
  assertError(t, await postForm(app, 'username=john%2Bdoe&password=my+secret'), 400, BAD_CREDENTIALS, '%2B is a literal plus')
})

t.test('only POST: GET /token is 405 with Allow: POST, and echoes nothing of its query', async (t) => {
  const { app } = await tokenApp(t)
  const response = await app.inject({ method: 'GET', url: '/token?username=johndoe&password=secret' })
  t.equal(response.statusCode, 405)
  t.equal(response.headers.allow, 'POST')
  t.same(response.json(), { error: 'invalid_request', error_description: 'This endpoint accepts only POST' })
})

t.test('tokenUrl moves the endpoint', async (t) => {
  const { app } = await tokenApp(t, { tokenUrl: '/auth/token' })
  assertTokens(t, await postForm(app, { username: 'johndoe', password: PASSWORD }, {}, '/auth/token'), 'me items')
  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD })).statusCode, 404)
})

t.test('a failing user store is a 500 server_error, logged, with nothing from the request', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const { app } = await tokenApp(t, {
    users: {
      findByUsername: (username) => { throw new Error(`database down while looking up ${username.length} characters`) },
      findById: () => null
    }
  }, { logger: { level: 'info', stream } })
  const response = await postForm(app, { username: 'johndoe', password: 'p4ssw0rd-in-flight' })
  t.equal(response.statusCode, 500)
  t.match(response.headers, NO_STORE)
  t.same(response.json(), { error: 'server_error', error_description: 'The server could not handle the request' })
  const logged = lines.map((line) => JSON.parse(line)).find((line) => line.msg === 'fastify-oauth2-password: token endpoint failure')
  t.match(logged, { level: 50, err: { message: 'database down while looking up 7 characters' } }, 'the cause is logged')
  t.notMatch(lines.join(''), 'p4ssw0rd-in-flight')
})

t.test('an HTTP error the app raises keeps its status (the app\'s error handler renders it); a crash is server_error', async (t) => {
  let failure: Error = Object.assign(new Error('Not Found'), { statusCode: 404 })
  const { app } = await tokenApp(t, {
    users: {
      findByUsername: () => { throw failure },
      findById: () => null
    }
  })
  const notFound = await postForm(app, { username: 'johndoe', password: PASSWORD })
  t.equal(notFound.statusCode, 404)
  t.match(notFound.json(), { statusCode: 404, message: 'Not Found' })
  failure = Object.assign(new Error('Bad Gateway'), { statusCode: 502 })
  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD })).statusCode, 502)
  failure = new Error('database is down')
  const response = await postForm(app, { username: 'johndoe', password: PASSWORD })
  t.equal(response.statusCode, 500)
  t.same(response.json(), { error: 'server_error', error_description: 'The server could not handle the request' })
})

t.test('a user store may refuse a login with a catalogue error, rendered as §5.2', async (t) => {
  let refusal: Error = new InvalidGrantError('The account is locked')
  const { app } = await tokenApp(t, {
    users: {
      findByUsername: () => { throw refusal },
      findById: () => null
    }
  })
  assertError(t, await postForm(app, { username: 'johndoe', password: PASSWORD }), 400, { error: 'invalid_grant', error_description: 'The account is locked' })

  const unavailable = new TemporarilyUnavailableError('The user directory is unreachable') as OAuth2Error
  unavailable.headers = { 'retry-after': '5' }
  refusal = unavailable
  const response = await postForm(app, { username: 'johndoe', password: PASSWORD })
  t.equal(response.statusCode, 503)
  t.match(response.headers, { ...NO_STORE, 'retry-after': '5' })
  t.same(response.json(), { error: 'temporarily_unavailable', error_description: 'The user directory is unreachable' })

  // Duck-typed: the catalogue's code and RFC error, but no status of its own
  refusal = Object.assign(new Error('The account is locked'), { code: 'FST_OAUTH2_INVALID_GRANT', error: 'invalid_grant' })
  assertError(t, await postForm(app, { username: 'johndoe', password: PASSWORD }), 400, { error: 'invalid_grant', error_description: 'The account is locked' }, 'a status of 400 by default')
})

const SECRETS = {
  username: 'user-Zq8PvT',
  password: 'pw-Hk3mX9vQ',
  clientSecret: 'cs-W7nRb2Lp'
}

/** Requests that fail in every way the endpoint can fail, each carrying the secrets. */
async function failingRequests (app: FastifyInstance): Promise<LightMyRequestResponse[]> {
  const { username, password, clientSecret } = SECRETS
  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` })
  return [
    await postForm(app, { username, password }),
    await postForm(app, { username: 'johndoe', password }),
    await postForm(app, { username: 'alice', password }),
    await postForm(app, { username, password, scope: 'admin' }),
    await postForm(app, { username, password, scope: `${password} x` }),
    await postForm(app, { username, password, grant_type: password }),
    await postForm(app, `username=${username}&password=${password}&password=${password}`),
    await postForm(app, `${password}=1&${password}=2&username=${username}`),
    await postForm(app, `username=${username}&password=${password}%ZZ`),
    await postForm(app, { username: `${username}\n`, password }),
    await postForm(app, { username, password: `${password}\0` }),
    await postForm(app, { username, password: `${password}${'x'.repeat(80)}` }),
    await postForm(app, { username, password, client_id: 'svc', client_secret: clientSecret }),
    await postForm(app, { username, password, client_id: 'web', client_secret: clientSecret }),
    await postForm(app, { username, password, client_secret: clientSecret }),
    await postForm(app, { username, password }, basic('svc', clientSecret)),
    await postForm(app, { username, password, client_secret: clientSecret }, basic('svc', clientSecret)),
    await postForm(app, { username, password, client_id: clientSecret }, basic('svc', clientSecret)),
    await postForm(app, { username, password }, { authorization: `Bearer ${clientSecret}` }),
    await postForm(app, { username, password }, { authorization: `Basic ${clientSecret}` }),
    await app.inject({ method: 'POST', url: '/token', payload: JSON.stringify({ username, password }), headers: { 'content-type': 'application/json' } }),
    await postForm(app, `username=${username}&password=${password}&pad=${'x'.repeat(5000)}`)
  ]
}

const CLIENTS = { web: {}, svc: { secret: 's3cr3t-expected', grantTypes: ['password'] } }

t.test('no reflection: a username, password or client secret never appears in an answer', async (t) => {
  const { app } = await tokenApp(t, { clients: CLIENTS })
  const responses = await failingRequests(app)
  t.equal(responses.length, 22)
  for (const response of responses) {
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `4xx, never 5xx (got ${response.statusCode})`)
    const answer = response.body + JSON.stringify(response.headers)
    for (const [name, value] of Object.entries(SECRETS)) t.notMatch(answer, value, `${name} not reflected in ${response.body}`)
    t.notMatch(answer, 's3cr3t-expected', 'the expected client secret not revealed')
  }
})

t.test('no secret in the logs, at trace level, for successful and failed logins', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const { app } = await tokenApp(t, {
    clients: CLIENTS,
    bcrypt: { cost: 5 },
    onRehash: () => { throw new Error('store is read-only') }
  }, { logger: { level: 'trace', stream } })
  await failingRequests(app)
  const ok = await postForm(app, { username: 'johndoe', password: PASSWORD, client_id: 'svc', client_secret: 's3cr3t-expected' })
  t.equal(ok.statusCode, 200, 'a successful login (with a rehash that fails and is logged)')
  const ok2 = await postForm(app, { username: 'johndoe', password: PASSWORD }, { authorization: `Basic ${Buffer.from('svc:s3cr3t-expected').toString('base64')}` })
  t.equal(ok2.statusCode, 200)
  t.ok(lines.length >= 2 * 24, `every request was logged (${lines.length} lines)`)
  t.ok(lines.some((line) => line.includes('onRehash failed')), 'the rehash failure was logged')
  const log = lines.join('')
  for (const [name, value] of Object.entries(SECRETS)) t.notMatch(log, value, `${name} not logged`)
  t.notMatch(log, 's3cr3t-expected', 'client secret not logged')
  t.notMatch(log, `"${PASSWORD}"`, 'the real password not logged')
  t.notMatch(log, Buffer.from('svc:s3cr3t-expected').toString('base64'), 'the Basic credentials not logged')
})
