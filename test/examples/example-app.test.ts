import { Buffer } from 'node:buffer'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { Validator } from '@seriousme/openapi-schema-validator'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { buildExampleApp, DEMO_API_KEY, SCOPES, serverOptions } from '../../examples/app/app.js'
import { ConfigError, DEFAULT_DATABASE, readConfig } from '../../examples/app/config.js'
import { accessTokensWith } from '../helpers/access-tokens.js'
import { suiteLogs } from '../helpers/log-secrets.js'

const SECRET = 'example-test-secret-of-at-least-32-bytes'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const JOHNDOE = { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false }
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'Incorrect username or password' }
const NOT_AUTHENTICATED = { statusCode: 401, code: 'FST_OAUTH2_MISSING_CREDENTIALS', error: 'Unauthorized', message: 'Not authenticated' }
const NOT_ENOUGH_PERMISSIONS = { statusCode: 403, code: 'FST_OAUTH2_INSUFFICIENT_SCOPE', error: 'Forbidden', message: 'Not enough permissions' }

/** The example app over a private in-memory database, closed with the test. */
// Every line these apps log is searched for the secrets at the end of the file (issue 8 §6)
for (const secret of [SECRET, DEMO_API_KEY, 'secret']) suiteLogs.remember(secret, 1)

async function exampleApp (test: Test, database = ':memory:', bcryptCost = 4): Promise<FastifyInstance> {
  const app = await buildExampleApp({ jwtSecret: SECRET, bcryptCost, database, logger: suiteLogs.logger() })
  test.teardown(() => app.close())
  return app
}

async function postToken (app: FastifyInstance, form: Record<string, string>): Promise<LightMyRequestResponse> {
  const response = await app.inject({ method: 'POST', url: '/token', headers: FORM, payload: new URLSearchParams(form).toString() })
  if (response.statusCode === 200) suiteLogs.rememberFields(response.json())
  return response
}

async function login (test: Test, app: FastifyInstance, scope?: string): Promise<string> {
  const response = await postToken(app, { username: 'johndoe', password: 'secret', ...(scope === undefined ? {} : { scope }) })
  test.equal(response.statusCode, 200, 'login succeeds')
  return (response.json() as { access_token: string }).access_token
}

async function get (app: FastifyInstance, url: string, token?: string): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'GET', url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
}

/** Every key of a JSON value, at any depth. */
function keysOf (value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(keysOf)
  if (typeof value !== 'object' || value === null) return []
  return Object.entries(value).flatMap(([key, member]) => [key, ...keysOf(member)])
}

/** Asserts a JSON body has no password-ish field and no bcrypt hash anywhere. */
function assertNoSecrets (test: Test, response: LightMyRequestResponse | { body: string }): void {
  test.notOk(/\$2[aby]\$/.test(response.body), 'no bcrypt hash in the response')
  const keys = keysOf(JSON.parse(response.body))
  test.same(keys.filter((key) => /hash|password/i.test(key)), [], 'no hash or password field in the response')
}

function tempDir (test: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'oauth2-example-'))
  test.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function storedUsers (file: string): Array<{ username: string, scopes: string, disabled: number, hashed_password: string }> {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare<[], { username: string, scopes: string, disabled: number, hashed_password: string }>(
      'SELECT username, scopes, disabled, hashed_password FROM users ORDER BY username'
    ).all()
  } finally {
    db.close()
  }
}

t.test('GET /health is public', async (t) => {
  const app = await exampleApp(t)
  const response = await get(app, '/health')
  t.equal(response.statusCode, 200)
  t.equal(response.headers['content-type'], 'application/json; charset=utf-8')
  t.same(response.json(), { status: 'ok' })
})

t.test('token flow: login, then every protected route with a token of both scopes', async (t) => {
  const app = await exampleApp(t)
  const tokenResponse = await postToken(app, { username: 'johndoe', password: 'secret' })
  t.equal(tokenResponse.statusCode, 200)
  t.equal(tokenResponse.headers['cache-control'], 'no-store')
  t.equal(tokenResponse.headers.pragma, 'no-cache')
  const body = tokenResponse.json() as { access_token: string, refresh_token: string }
  t.match(body.access_token, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'a compact JWS')
  t.match(body.refresh_token, /^[\w-]+\.[\w-]+$/, 'an opaque refresh token')
  // No scope requested: every scope the user has, as the tutorial grants
  t.same(body, { access_token: body.access_token, token_type: 'bearer', expires_in: 1800, scope: 'me items', refresh_token: body.refresh_token })
  assertNoSecrets(t, tokenResponse)

  const me = await get(app, '/users/me', body.access_token)
  t.equal(me.statusCode, 200)
  t.same(me.json(), JOHNDOE)
  assertNoSecrets(t, me)

  const items = await get(app, '/users/me/items', body.access_token)
  t.equal(items.statusCode, 200)
  t.same(items.json(), [{ item_id: 'Foo', owner: 'johndoe' }])

  const status = await get(app, '/status', body.access_token)
  t.equal(status.statusCode, 200)
  t.same(status.json(), { status: 'ok' })
})

t.test('a token with scope "me" reads the user, not the items', async (t) => {
  const app = await exampleApp(t)
  const token = await login(t, app, 'me')
  t.same((await get(app, '/users/me', token)).json(), JOHNDOE)
  const items = await get(app, '/users/me/items', token)
  t.equal(items.statusCode, 403)
  t.equal(items.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="me items"')
  t.same(items.json(), NOT_ENOUGH_PERMISSIONS)
  t.same((await get(app, '/status', token)).json(), { status: 'ok' })
})

t.test('a token with scope "items" is refused by both user routes, accepted by /status', async (t) => {
  const app = await exampleApp(t)
  const token = await login(t, app, 'items')
  const me = await get(app, '/users/me', token)
  t.equal(me.statusCode, 403)
  t.equal(me.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="me"')
  t.same(me.json(), NOT_ENOUGH_PERMISSIONS)
  const items = await get(app, '/users/me/items', token)
  t.equal(items.statusCode, 403)
  t.equal(items.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="me items"')
  t.equal((await get(app, '/status', token)).statusCode, 200)
})

t.test('protected routes without a token: 401 with a bare Bearer challenge', async (t) => {
  const app = await exampleApp(t)
  for (const url of ['/users/me', '/users/me/items', '/status']) {
    const response = await get(app, url)
    t.equal(response.statusCode, 401, url)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="api"', url)
    t.same(response.json(), NOT_AUTHENTICATED, url)
  }
})

t.test('protected routes with a token of another secret: 401 invalid_token', async (t) => {
  const app = await exampleApp(t)
  const other = await buildExampleApp({ jwtSecret: 'another-secret-that-is-32-bytes-long!!', bcryptCost: 4, database: ':memory:' })
  t.teardown(() => other.close())
  const foreign = await login(t, other)
  for (const url of ['/users/me', '/users/me/items', '/status']) {
    const response = await get(app, url, foreign)
    t.equal(response.statusCode, 401, url)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token signature is invalid"', url)
    t.same(response.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token signature is invalid' }, url)
  }
})

t.test('disabled alice, a wrong password and an unknown user get one identical invalid_grant', async (t) => {
  const app = await exampleApp(t)
  for (const form of [
    { username: 'alice', password: 'secret' },
    { username: 'johndoe', password: 'wrong' },
    { username: 'nobody', password: 'secret' }
  ]) {
    const response = await postToken(app, form)
    t.equal(response.statusCode, 400, form.username)
    t.equal(response.headers['cache-control'], 'no-store')
    t.same(response.json(), INVALID_GRANT, form.username)
  }
})

// A token the app's own key signed for a subject the account policy would never issue one to
function forgedWithAppKey (subject: string, scopes: string[]): string {
  return accessTokensWith({ secret: SECRET, ttlSeconds: 60 }).sign(subject, scopes).token
}

t.test('a token issued to disabled alice is refused on every protected route', async (t) => {
  const app = await exampleApp(t)
  await t.rejects(app.oauth2.issueTokens({ id: 'alice', scopes: ['me', 'items'] }), { code: 'FST_OAUTH2_INVALID_GRANT' }, 'the account policy issues none')
  const token = forgedWithAppKey('alice', ['me', 'items'])
  for (const url of ['/users/me', '/users/me/items', '/status']) {
    const response = await get(app, url, token)
    t.equal(response.statusCode, 401, url)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The user of this token is unknown or disabled"', url)
    t.same(response.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The user of this token is unknown or disabled' }, url)
  }
})

t.test('refresh tokens rotate; a reused one revokes its family and the access tokens issued from it', async (t) => {
  const app = await exampleApp(t)
  const first = (await postToken(app, { username: 'johndoe', password: 'secret', scope: 'me' })).json() as { refresh_token: string }
  const refreshed = await postToken(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token })
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.headers['cache-control'], 'no-store')
  const second = refreshed.json() as { access_token: string, refresh_token: string }
  t.same(second, { access_token: second.access_token, token_type: 'bearer', expires_in: 1800, scope: 'me', refresh_token: second.refresh_token })
  t.not(second.refresh_token, first.refresh_token, 'a new refresh token')
  t.same((await get(app, '/users/me', second.access_token)).json(), JOHNDOE)

  const reused = await postToken(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token })
  t.equal(reused.statusCode, 400)
  t.same(reused.json(), { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' })
  const revoked = await get(app, '/users/me', second.access_token)
  t.equal(revoked.statusCode, 401)
  t.equal(revoked.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token has been revoked"')
  t.same(revoked.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token has been revoked' })
  t.equal((await postToken(app, { grant_type: 'refresh_token', refresh_token: second.refresh_token })).statusCode, 400, 'the whole family is gone')
})

t.test('POST /revoke (RFC 7009) logs an access token out', async (t) => {
  const app = await exampleApp(t)
  const token = await login(t, app)
  const response = await app.inject({ method: 'POST', url: '/revoke', headers: FORM, payload: new URLSearchParams({ token }).toString() })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'no-store')
  t.equal(response.body, '')
  for (const url of ['/users/me', '/users/me/items', '/status']) {
    const refused = await get(app, url, token)
    t.equal(refused.statusCode, 401, url)
    t.equal(refused.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token has been revoked"', url)
  }
  t.equal((await get(app, '/users/me', await login(t, app))).statusCode, 200, 'a new login works')
})

t.test('GET /reports: the demo API key or a token with scope "items"', async (t) => {
  const app = await exampleApp(t)
  const reports = [{ report_id: 'Q1', title: 'Quarterly sales' }]
  const byKey = await app.inject({ url: '/reports', headers: { 'x-api-key': DEMO_API_KEY } })
  t.equal(byKey.statusCode, 200)
  t.same(byKey.json(), { reports, authenticated_by: 'ApiKey' })
  const byToken = await get(app, '/reports', await login(t, app, 'items'))
  t.equal(byToken.statusCode, 200)
  t.same(byToken.json(), { reports, authenticated_by: 'OAuth2PasswordBearer' })

  const apiKeyChallenge = 'APIKey realm="api", in="header", name="X-API-Key"'
  const none = await get(app, '/reports')
  t.equal(none.statusCode, 401)
  t.same(none.headers['www-authenticate'], [apiKeyChallenge, 'Bearer realm="api"'], 'one challenge per accepted scheme')
  t.same(none.json(), NOT_AUTHENTICATED)
  const badKey = await app.inject({ url: '/reports', headers: { 'x-api-key': 'not-the-demo-key' } })
  t.equal(badKey.statusCode, 401)
  t.same(badKey.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_CREDENTIALS', error: 'Unauthorized', message: 'The API key is invalid' })
  const meOnly = await get(app, '/reports', await login(t, app, 'me'))
  t.equal(meOnly.statusCode, 403)
  t.same(meOnly.headers['www-authenticate'], [apiKeyChallenge, 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="items"'])
  t.same(meOnly.json(), NOT_ENOUGH_PERMISSIONS)
})

t.test('GET /basic/me: HTTP Basic against the same users and hashes', async (t) => {
  const app = await exampleApp(t)
  const basic = (username: string, password: string): Record<string, string> => ({ authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` })
  const me = await app.inject({ url: '/basic/me', headers: basic('johndoe', 'secret') })
  t.equal(me.statusCode, 200)
  t.same(me.json(), JOHNDOE)
  assertNoSecrets(t, me)
  const refused = { statusCode: 401, code: 'FST_OAUTH2_INVALID_CREDENTIALS', error: 'Unauthorized', message: 'Incorrect username or password' }
  for (const [username, password] of [['johndoe', 'wrong'], ['alice', 'secret'], ['nobody', 'secret']] as const) {
    const response = await app.inject({ url: '/basic/me', headers: basic(username, password) })
    t.equal(response.statusCode, 401, username)
    t.equal(response.headers['www-authenticate'], 'Basic realm="api", charset="UTF-8"', username)
    t.same(response.json(), refused, username)
  }
  const bearer = await get(app, '/basic/me', await login(t, app))
  t.equal(bearer.statusCode, 401, 'a bearer token is not Basic credentials')
  t.equal(bearer.headers['www-authenticate'], 'Basic realm="api", charset="UTF-8"')
  t.same(bearer.json(), NOT_AUTHENTICATED)
})

t.test('a token whose user is not in the database is refused', async (t) => {
  const app = await exampleApp(t)
  await t.rejects(app.oauth2.issueTokens({ id: 'ghost', scopes: ['me'] }), { code: 'FST_OAUTH2_INVALID_GRANT' }, 'the account policy issues none')
  const response = await get(app, '/users/me', forgedWithAppKey('ghost', ['me']))
  t.equal(response.statusCode, 401)
  t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The user of this token is unknown or disabled"')
})

t.test('a file that is not a SQLite database rejects the build', async (t) => {
  const file = join(tempDir(t), 'users.db')
  writeFileSync(file, 'not a database, but long enough to have a header of a hundred bytes or so: '.repeat(4))
  await t.rejects(buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: file }), { code: 'SQLITE_NOTADB' })
})

t.test('an undeclared scope is invalid_scope', async (t) => {
  const app = await exampleApp(t)
  const response = await postToken(app, { username: 'johndoe', password: 'secret', scope: 'me admin' })
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_scope', error_description: 'The requested scope is not declared by this server' })
})

t.test('the token route keeps its 4 KiB body limit', async (t) => {
  const app = await exampleApp(t)
  const response = await postToken(app, { username: 'johndoe', password: 'secret', scope: 'me'.padEnd(5000, ' ') })
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_request', error_description: 'The request body is too large' })
})

t.test('server limits: request and connection timeouts, body limit', async (t) => {
  const app = await exampleApp(t)
  t.equal(app.server.requestTimeout, 10_000)
  t.equal(app.server.headersTimeout, 10_000, 'headers within the same 10 s (test/examples/example-slow-client.test.ts: bodies too)')
  t.equal(app.server.timeout, 30_000, 'connectionTimeout')
  t.equal(app.initialConfig.bodyLimit, 16 * 1024)
  const options = serverOptions({ level: 'warn' })
  t.same(options.logger, { level: 'warn' })
  t.not(options.logController, serverOptions().logController, 'a fresh log controller per app')
})

t.test('logs errors, not every request, and refusals only at debug (issue 8 §6)', async (t) => {
  const lines: Array<{ level: number, msg: string, event?: string }> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line) as { level: number, msg: string, event?: string }) } }
  const app = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: ':memory:', logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  t.equal((await get(app, '/health')).statusCode, 200)
  t.equal((await get(app, '/users/me', await login(t, app))).statusCode, 200)
  t.equal((await get(app, '/users/me')).statusCode, 401)
  t.equal((await get(app, '/users/me', 'forged-token')).statusCode, 401)
  t.equal((await app.inject({ url: '/reports', headers: { 'x-api-key': 'not-the-demo-key' } })).statusCode, 401)
  const wrongBasic = `Basic ${Buffer.from('johndoe:wrong-password').toString('base64')}`
  const basicAnswers = []
  for (let attempt = 0; attempt < 6; attempt++) basicAnswers.push((await app.inject({ url: '/basic/me', headers: { authorization: wrongBasic } })).statusCode)
  t.same(basicAnswers, [401, 401, 401, 401, 401, 429], 'wrong Basic passwords, then throttled')
  t.equal((await postToken(app, { username: 'johndoe', password: 'wrong-password' })).statusCode, 429)
  t.same(lines.map(({ level, msg, event }) => ({ level, msg, event })), [
    { level: 30, msg: 'security event', event: 'authn_login_success' }
  ], 'the login\'s security event only: no line per request, none for the refusals (token, API key, Basic, throttled)')
  assertNoSecrets(t, { body: JSON.stringify(lines) })
})

t.test('OpenAPI document at /docs/json: valid, with the scheme and each route\'s requirement', async (t) => {
  const app = await exampleApp(t)
  const response = await get(app, '/docs/json')
  t.equal(response.statusCode, 200)
  const document = response.json() as {
    openapi: string
    info: { title: string }
    components: { securitySchemes: Record<string, unknown> }
    paths: Record<string, Record<string, { security?: unknown, responses: Record<string, unknown> }>>
  }
  const validation = await new Validator().validate(document)
  t.same(validation.errors, undefined, 'a valid OpenAPI 3.1 document')
  t.equal(validation.valid, true)
  t.equal(document.openapi, '3.1.0')
  t.equal(document.info.title, 'fastify-oauth2-password example')
  t.same(document.components.securitySchemes, {
    OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/token', refreshUrl: '/token', scopes: SCOPES } } },
    ApiKey: { type: 'apiKey', name: 'X-API-Key', in: 'header', description: `Demo key: ${DEMO_API_KEY}` },
    Basic: { type: 'http', scheme: 'basic', description: 'The demo users, e.g. johndoe / secret' }
  })
  t.same(Object.keys(document.paths).sort(), ['/basic/me', '/health', '/reports', '/revoke', '/status', '/token', '/users/me', '/users/me/items'])
  t.same(document.paths['/reports']?.get?.security, [{ ApiKey: [] }, { OAuth2PasswordBearer: ['items'] }])
  t.same(document.paths['/basic/me']?.get?.security, [{ Basic: [] }])
  t.same(document.paths['/users/me']?.get?.security, [{ OAuth2PasswordBearer: ['me'] }])
  t.same(document.paths['/users/me/items']?.get?.security, [{ OAuth2PasswordBearer: ['me', 'items'] }])
  t.same(document.paths['/status']?.get?.security, [{ OAuth2PasswordBearer: [] }])
  t.same(document.paths['/health']?.get?.security, [], '/health is public, and says so')
  // The plugin documents the refusals next to the app's own answer
  t.has(document.paths['/users/me']?.get?.responses, { 200: {}, 401: {}, 403: {} })
  t.has(document.paths['/status']?.get?.responses, { 200: {}, 401: {} })
  t.notOk(/\$2[aby]\$/.test(response.body), 'no bcrypt hash in the document')
})

t.test('Swagger UI at /docs keeps the authorization across reloads', async (t) => {
  const app = await exampleApp(t)
  const page = await get(app, '/docs')
  t.equal(page.statusCode, 200)
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8')
  const initializer = await get(app, '/docs/static/swagger-initializer.js')
  t.equal(initializer.statusCode, 200)
  t.match(initializer.body, /persistAuthorization["']?\s*:\s*true/)
})

t.test('SQLite file: created and seeded once, reused by the next start, rehashed after BCRYPT_COST rises', async (t) => {
  const file = join(tempDir(t), 'users.db')
  const first = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: file })
  await first.close()
  const seeded = storedUsers(file)
  t.same(seeded.map(({ username, scopes, disabled }) => ({ username, scopes, disabled })), [
    { username: 'alice', scopes: 'me items', disabled: 1 },
    { username: 'johndoe', scopes: 'me items', disabled: 0 }
  ])
  for (const { hashed_password: hash } of seeded) t.match(hash, /^\$2b\$04\$/, 'hashed at BCRYPT_COST')

  // Same cost: nothing is rewritten
  const second = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: file })
  t.teardown(() => second.close())
  t.same((await get(second, '/users/me', await login(t, second))).json(), JOHNDOE)
  await second.close()
  t.same(storedUsers(file), seeded, 'the second start keeps the stored users')

  // A raised cost: johndoe's next login stores a fresh hash at the new cost
  const third = await exampleApp(t, file, 5)
  await login(t, third)
  await third.close()
  t.equal(existsSync(`${file}-wal`), false, 'closing the app closed the database')
  const [alice, johndoe] = storedUsers(file)
  t.same(alice, seeded[0], 'alice (who cannot log in) keeps her hash')
  t.match(johndoe?.hashed_password, /^\$2b\$05\$/, 'johndoe rehashed at the new cost')
})

t.test('PASSWORD_HASH=argon2id: a file seeded with bcrypt moves to Argon2id as users log in', async (t) => {
  const file = join(tempDir(t), 'users.db')
  await (await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: file })).close()
  const argon2 = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, passwordHash: 'argon2id', database: file })
  t.teardown(() => argon2.close())
  t.same((await get(argon2, '/users/me', await login(t, argon2))).json(), JOHNDOE)
  await argon2.close()
  const [alice, johndoe] = storedUsers(file)
  t.match(alice?.hashed_password, /^\$2b\$04\$/, 'alice (who cannot log in) keeps her bcrypt hash')
  t.match(johndoe?.hashed_password, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/, 'johndoe now has an Argon2id hash, OWASP parameters')

  const freshFile = join(tempDir(t), 'fresh.db')
  const fresh = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, passwordHash: 'argon2id', database: freshFile })
  t.teardown(() => fresh.close())
  t.same((await get(fresh, '/users/me', await login(t, fresh))).json(), JOHNDOE)
  await fresh.close()
  for (const { hashed_password: hash } of storedUsers(freshFile)) t.match(hash, /^\$argon2id\$/, 'a fresh file is seeded with Argon2id hashes')
})

t.test('a bad secret rejects the build and closes the database', async (t) => {
  const file = join(tempDir(t), 'users.db')
  await t.rejects(buildExampleApp({ jwtSecret: 'short', bcryptCost: 4, database: file }), { code: 'FST_OAUTH2_INVALID_OPTION' })
  t.equal(existsSync(file), true, 'the file was created')
  t.equal(existsSync(`${file}-wal`), false, 'and closed')
})

t.test('readConfig: defaults', async (t) => {
  const config = readConfig({})
  t.match(config.jwtSecret, /^[\w-]{43}$/, '32 random bytes, base64url')
  t.same(config, { port: 3000, host: '127.0.0.1', jwtSecret: config.jwtSecret, jwtSecretGenerated: true, bcryptCost: 12, passwordHash: 'bcrypt', database: DEFAULT_DATABASE, redisUrl: undefined, redisCluster: undefined })
  t.match(DEFAULT_DATABASE, /examples[/\\]app[/\\]example\.db$/)
  t.not(readConfig({ JWT_SECRET: '' }).jwtSecret, config.jwtSecret, 'a new secret per start')
  t.same(readConfig({ HOST: '', DATABASE: '', PORT: '', BCRYPT_COST: '', PASSWORD_HASH: '', JWT_SECRET: SECRET, REDIS_URL: '' }), {
    port: 3000, host: '127.0.0.1', jwtSecret: SECRET, jwtSecretGenerated: false, bcryptCost: 12, passwordHash: 'bcrypt', database: DEFAULT_DATABASE, redisUrl: undefined, redisCluster: undefined
  }, 'empty variables take the defaults')
})

t.test('readConfig: every variable, from process.env by default', async (t) => {
  const env = { PORT: '0', HOST: '::1', JWT_SECRET: SECRET, BCRYPT_COST: '4', PASSWORD_HASH: 'argon2id', DATABASE: ':memory:', REDIS_URL: 'redis://127.0.0.1:6379/2', REDIS_CLUSTER: '127.0.0.1:7000, 127.0.0.1:7001' }
  const expected = { port: 0, host: '::1', jwtSecret: SECRET, jwtSecretGenerated: false, bcryptCost: 4, passwordHash: 'argon2id', database: ':memory:', redisUrl: 'redis://127.0.0.1:6379/2', redisCluster: ['127.0.0.1:7000', '127.0.0.1:7001'] }
  t.same(readConfig(env), expected)
  t.same(readConfig({ PORT: '65535', BCRYPT_COST: '31', PASSWORD_HASH: 'bcrypt', JWT_SECRET: SECRET }), {
    ...expected, port: 65535, host: '127.0.0.1', bcryptCost: 31, passwordHash: 'bcrypt', database: DEFAULT_DATABASE, redisUrl: undefined, redisCluster: undefined
  })
  const saved = { ...process.env }
  t.teardown(() => { process.env = saved })
  process.env = { ...saved, ...env }
  t.same(readConfig(), expected)
})

t.test('readConfig: refusals name the variable and never echo the secret', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: '65536' }, 'PORT must be an integer from 0 to 65535 (got "65536")'],
    [{ PORT: '-1' }, 'PORT must be an integer from 0 to 65535 (got "-1")'],
    [{ PORT: '80x' }, 'PORT must be an integer from 0 to 65535 (got "80x")'],
    [{ BCRYPT_COST: '3' }, 'BCRYPT_COST must be an integer from 4 to 31 (got "3")'],
    [{ BCRYPT_COST: '32' }, 'BCRYPT_COST must be an integer from 4 to 31 (got "32")'],
    [{ BCRYPT_COST: '12.5' }, 'BCRYPT_COST must be an integer from 4 to 31 (got "12.5")'],
    [{ PASSWORD_HASH: 'Argon2id' }, 'PASSWORD_HASH must be bcrypt or argon2id (got "Argon2id")'],
    [{ JWT_SECRET: 'too-short-secret' }, 'JWT_SECRET must be at least 32 bytes (got 16)']
  ]
  for (const [env, message] of cases) {
    t.throws(() => readConfig(env), new ConfigError(message), message)
  }
  t.throws(() => readConfig({ JWT_SECRET: 'too-short-secret' }), { name: 'ConfigError' })
})
