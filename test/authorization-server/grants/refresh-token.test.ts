import { Buffer } from 'node:buffer'
import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import oauth2Password, { type OAuth2PasswordOptions } from '../../../lib/index.js'
import { buildApp, PASSWORD, postForm, SCOPES, SECRET, seedUsers, type TestApp, type TestUser, userView } from '../../helpers/build-app.js'
import { observedStore } from '../../helpers/token-stores.js'

// grant_type=refresh_token (RFC 6749 §6) as the token endpoint answers it: parameters,
// scope narrowing, users and clients. Rotation and reuse detection: rfc9700-refresh-rotation.

const REFRESH_TOKEN = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }

interface Tokens {
  access_token: string
  token_type: string
  expires_in: number
  scope: string
  refresh_token: string
}

async function refreshApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}): Promise<TestApp> {
  const built = await buildApp({ refreshTokens: true, ...options }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => {
      // Cast: the check program also sees the example app's user type
      const user = await request.currentUser() as unknown as TestUser
      return { id: user.id, scopes: [...(request.auth?.scopes ?? [])] }
    })
  })
  t.teardown(() => built.app.close())
  return built
}

async function loginTokens (app: FastifyInstance, form: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Tokens> {
  const response = await postForm(app, { username: 'johndoe', password: PASSWORD, ...form }, headers)
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.body}`)
  return response.json() as Tokens
}

async function refresh (app: FastifyInstance, refreshToken: string, form: Record<string, string> = {}, headers: Record<string, string> = {}) {
  return await postForm(app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...form }, headers)
}

function claimsOf (token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'))
}

/** An app with @fastify/swagger registered first, for its document. */
async function documentedApp (t: Test, options: Partial<OAuth2PasswordOptions>): Promise<FastifyInstance> {
  const users = seedUsers()
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'test', version: '1.0.0' } } })
  await app.register(oauth2Password, {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    users: { findByUsername: (username) => users.get(username) ?? null, findById: (id) => userView(users.get(id)) },
    ...options
  })
  await app.ready()
  return app
}

function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

t.test('off by default: no refresh token, no refresh grant, no revocation endpoint', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const tokens = await loginTokens(app)
  t.same(Object.keys(tokens).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.equal(claimsOf(tokens.access_token).sid, undefined, 'no family, no sid')
  const response = await refresh(app, 'a'.repeat(22) + '.' + 'b'.repeat(43))
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'unsupported_grant_type', error_description: 'The grant type is not supported' })
  t.equal((await postForm(app, { token: 'x' }, {}, '/revoke')).statusCode, 404)
  t.equal(await app.oauth2.revokeToken(tokens.access_token).catch((error: { code: string }) => error.code), 'FST_OAUTH2_UNSUPPORTED_TOKEN_TYPE', 'the API says access tokens cannot be revoked')
})

t.test('a login answers a refresh token: opaque, 256 random bits, one per login', async (t) => {
  const { app } = await refreshApp(t)
  const first = await loginTokens(app)
  const second = await loginTokens(app)
  t.match(first.refresh_token, REFRESH_TOKEN)
  t.equal(Buffer.from(first.refresh_token.split('.')[1] as string, 'base64url').length, 32, 'the secret part is 32 bytes')
  t.not(first.refresh_token, second.refresh_token)
  t.not(first.refresh_token.split('.')[0], second.refresh_token.split('.')[0], 'each login starts its own family')
  t.match(claimsOf(first.access_token).sid, /^[A-Za-z0-9_-]{43}$/, 'the access token names its family (sid)')
  t.notOk(String(claimsOf(first.access_token).sid).includes(first.refresh_token.split('.')[0] as string), 'by a hash, never by the handle in the refresh token')
})

t.test('a refresh answers RFC 6749 §5.1 with a new refresh token and a working access token', async (t) => {
  const { app } = await refreshApp(t)
  const login = await loginTokens(app)
  const response = await refresh(app, login.refresh_token)
  t.equal(response.statusCode, 200)
  t.match(response.headers, NO_STORE)
  const body = response.json() as Tokens
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.match(body, { token_type: 'bearer', expires_in: 1800, scope: 'me items', refresh_token: REFRESH_TOKEN })
  t.not(body.refresh_token, login.refresh_token, 'rotated')
  t.equal(body.refresh_token.split('.')[0], login.refresh_token.split('.')[0], 'same family')
  t.equal(claimsOf(body.access_token).sid, claimsOf(login.access_token).sid)
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${body.access_token}` } })
  t.same(me.json(), { id: 'johndoe', scopes: ['me', 'items'] })
})

t.test('the refresh_token parameter is required and must be one of ours', async (t) => {
  const { app } = await refreshApp(t)
  const login = await loginTokens(app)
  const missing = await postForm(app, { grant_type: 'refresh_token' })
  t.equal(missing.statusCode, 400)
  t.same(missing.json(), { error: 'invalid_request', error_description: 'The refresh_token parameter is missing' })
  t.match(missing.headers, NO_STORE)
  const repeated = await postForm(app, `grant_type=refresh_token&refresh_token=${login.refresh_token}&refresh_token=${login.refresh_token}`)
  t.same(repeated.json(), { error: 'invalid_request', error_description: 'The refresh_token parameter is repeated' })
  for (const [what, token] of [
    ['an access token', login.access_token],
    ['garbage', 'not-a-token'],
    ['a truncated token', login.refresh_token.slice(0, -1)],
    ['an unknown family', `${'A'.repeat(22)}.${'B'.repeat(43)}`]
  ] as const) {
    const response = await refresh(app, token)
    t.equal(response.statusCode, 400, what)
    t.same(response.json(), INVALID_GRANT, what)
  }
  t.equal((await refresh(app, login.refresh_token)).statusCode, 200, 'none of that touched the real token')
})

t.test('a refresh token is never a bearer token', async (t) => {
  const { app } = await refreshApp(t)
  const login = await loginTokens(app)
  const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${login.refresh_token}` } })
  t.equal(response.statusCode, 401)
  t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"')
  t.same(response.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token is invalid' })
})

t.test('RFC 6749 §6: scope may be narrowed, never widened; omitted means the original scope', async (t) => {
  const { app } = await refreshApp(t)
  const login = await loginTokens(app, { scope: 'me' })
  t.equal(login.scope, 'me')
  const wider = await refresh(app, login.refresh_token, { scope: 'me items' })
  t.equal(wider.statusCode, 400)
  t.same(wider.json(), { error: 'invalid_scope', error_description: 'The requested scope exceeds the scope originally granted' })
  const undeclared = await refresh(app, login.refresh_token, { scope: 'admin' })
  t.same(undeclared.json(), { error: 'invalid_scope', error_description: 'The requested scope is not declared by this server' })
  const malformed = await refresh(app, login.refresh_token, { scope: 'me  items' })
  t.same(malformed.json(), { error: 'invalid_scope', error_description: 'The scope parameter is malformed' })

  const full = await loginTokens(app)
  const narrowed = await refresh(app, full.refresh_token, { scope: 'items' })
  t.equal(narrowed.statusCode, 200, 'a refused scope did not use up the token')
  t.equal(narrowed.json().scope, 'items')
  const again = await refresh(app, narrowed.json().refresh_token)
  t.equal(again.json().scope, 'me items', 'the ceiling stays the scope of the login, not of the last refresh')
  const backToMe = await refresh(app, login.refresh_token)
  t.equal(backToMe.json().scope, 'me', 'the narrow login refreshes to its own scope')
})

t.test('a scope the user lost since the login is not granted again', async (t) => {
  const { app, users } = await refreshApp(t)
  const login = await loginTokens(app)
  const john = users.get('johndoe') as TestUser
  john.scopes = ['me']
  const all = await refresh(app, login.refresh_token)
  t.equal(all.json().scope, 'me')
  const onlyLost = await refresh(app, all.json().refresh_token, { scope: 'items' })
  t.equal(onlyLost.statusCode, 400)
  t.same(onlyLost.json(), { error: 'invalid_scope', error_description: 'None of the requested scopes may be granted to this user' })
})

t.test('a user object without a scopes list keeps the original scope; an empty scope stays empty', async (t) => {
  const { app, users } = await refreshApp(t)
  const login = await loginTokens(app)
  delete (users.get('johndoe') as TestUser).scopes
  const refreshed = await refresh(app, login.refresh_token)
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.json().scope, 'me items')
  const none = await app.oauth2.issueTokens({ id: 'bob' }, [])
  t.equal(none.scope, '')
  const again = await refresh(app, none.refresh_token as string)
  t.equal(again.statusCode, 200)
  t.equal(again.json().scope, '')
  t.same((await refresh(app, (again.json() as Tokens).refresh_token, { scope: 'me' })).json(), { error: 'invalid_scope', error_description: 'The requested scope exceeds the scope originally granted' })
})

t.test('a disabled or deleted user: invalid_grant, and the family is gone for good', async (t) => {
  const { app, users } = await refreshApp(t)
  const login = await loginTokens(app)
  const john = users.get('johndoe') as { disabled?: boolean }
  john.disabled = true
  const disabled = await refresh(app, login.refresh_token)
  t.equal(disabled.statusCode, 400)
  t.same(disabled.json(), INVALID_GRANT)
  john.disabled = false
  t.same((await refresh(app, login.refresh_token)).json(), INVALID_GRANT, 'enabling the user again does not bring the family back')

  const bob = await loginTokens(app, { username: 'bob' })
  users.delete('bob')
  t.same((await refresh(app, bob.refresh_token)).json(), INVALID_GRANT, 'deleted user')
})

t.test('RFC 6749 §6: a refresh token works only for the client it was issued to', async (t) => {
  const { app } = await refreshApp(t, {
    clients: {
      web: { secret: 'web-secret' },
      'swagger-ui': {},
      legacy: { grantTypes: ['password'] }
    }
  })
  const web = await loginTokens(app, {}, { authorization: basic('web', 'web-secret') })
  t.equal(claimsOf(web.access_token).client_id, 'web')
  const wrongClient = await refresh(app, web.refresh_token, { client_id: 'swagger-ui' })
  t.equal(wrongClient.statusCode, 400)
  t.same(wrongClient.json(), INVALID_GRANT)
  const noClient = await refresh(app, web.refresh_token)
  t.equal(noClient.statusCode, 400, 'with registered clients, a client must authenticate (400: it did not try the header)')
  t.same(noClient.json(), { error: 'invalid_client', error_description: 'Client authentication failed' })
  const badSecret = await refresh(app, web.refresh_token, {}, { authorization: basic('web', 'wrong') })
  t.equal(badSecret.statusCode, 401)
  const right = await refresh(app, web.refresh_token, {}, { authorization: basic('web', 'web-secret') })
  t.equal(right.statusCode, 200, 'the refused attempts did not use up the token')
  t.equal(claimsOf(right.json().access_token).client_id, 'web')

  const legacy = await loginTokens(app, { client_id: 'legacy' })
  const refused = await refresh(app, legacy.refresh_token, { client_id: 'legacy' })
  t.equal(refused.statusCode, 400)
  t.same(refused.json(), { error: 'unauthorized_client', error_description: 'The client is not allowed to use this grant type' })
})

t.test('without a client registry, the client_id given at login must come back', async (t) => {
  const { app } = await refreshApp(t)
  const swagger = await loginTokens(app, { client_id: 'swagger-ui' })
  t.same((await refresh(app, swagger.refresh_token)).json(), INVALID_GRANT, 'no client_id')
  t.equal((await refresh(app, swagger.refresh_token, { client_id: 'swagger-ui' })).statusCode, 200)
  const anonymous = await loginTokens(app)
  t.same((await refresh(app, anonymous.refresh_token, { client_id: 'swagger-ui' })).json(), INVALID_GRANT, 'a client_id the login did not have')
})

t.test('app.oauth2.issueTokens answers a refresh token too', async (t) => {
  const { app } = await refreshApp(t)
  const issued = await app.oauth2.issueTokens({ id: 'bob', scopes: ['me'] })
  t.match(issued, { token_type: 'bearer', scope: 'me', refresh_token: REFRESH_TOKEN })
  const refreshed = await refresh(app, issued.refresh_token as string)
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.json().scope, 'me')
})

t.test('a store that fails: 503 temporarily_unavailable with Retry-After, and no token is issued', async (t) => {
  const store = observedStore()
  const { app } = await refreshApp(t, { store })
  const login = await loginTokens(app)
  store.failing = true
  for (const response of [
    await postForm(app, { username: 'johndoe', password: PASSWORD }),
    await refresh(app, login.refresh_token)
  ]) {
    t.equal(response.statusCode, 503)
    t.match(response.headers, { 'retry-after': '1', ...NO_STORE })
    t.same(response.json(), { error: 'temporarily_unavailable', error_description: 'The token store is unavailable, retry later' })
  }
  store.failing = false
  t.equal((await refresh(app, login.refresh_token)).statusCode, 200, 'the family came through the outage intact')
})

t.test('options are checked and name the option', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /^Invalid option refreshTokens: must be a boolean or an object/],
    [{ enabled: 1 }, /^Invalid option refreshTokens\.enabled: must be a boolean/],
    [{ idleTtl: '1w' }, /^Invalid option refreshTokens\.idleTtl: must be a positive number of seconds/],
    [{ absoluteTtl: 0 }, /^Invalid option refreshTokens\.absoluteTtl: /],
    [{ idleTtl: '31d' }, /^Invalid option refreshTokens\.idleTtl: must not exceed refreshTokens\.absoluteTtl \(2592000 s\) \(got "31d"\)/],
    [{ reuseGrace: -1 }, /^Invalid option refreshTokens\.reuseGrace: /]
  ]
  for (const [refreshTokens, message] of cases) {
    await t.rejects(buildApp({ refreshTokens } as Partial<OAuth2PasswordOptions>), { code: 'FST_OAUTH2_INVALID_OPTION', message }, JSON.stringify(refreshTokens))
  }
  await t.rejects(buildApp({ store: 'redis' } as unknown as Partial<OAuth2PasswordOptions>), { message: /^Invalid option store: must be a TokenStore/ })
  await t.rejects(buildApp({ store: { ...observedStore(), rotate: undefined } } as unknown as Partial<OAuth2PasswordOptions>), { message: /^Invalid option store\.rotate: must be a function/ })
  await t.rejects(buildApp({ revokeUrl: 'revoke' }), { message: /^Invalid option revokeUrl: / })
  const { app } = await buildApp({ refreshTokens: { idleTtl: 60, absoluteTtl: '1h', reuseGrace: '2s' } })
  t.teardown(() => app.close())
  t.ok((await loginTokens(app)).refresh_token, 'a full object is accepted')
  const { app: disabled } = await buildApp({ refreshTokens: { enabled: false } })
  t.teardown(() => disabled.close())
  t.equal((await loginTokens(disabled)).refresh_token, undefined, 'enabled: false')
})

t.test('OpenAPI: refreshUrl in the password flow, the refresh grant and the revocation operation', async (t) => {
  const app = await documentedApp(t, { refreshTokens: true })
  const document = app.swagger() as {
    components: { securitySchemes: Record<string, { flows: { password: Record<string, unknown> } }> }
    paths: Record<string, { post: { requestBody: { content: Record<string, { schema: { properties: Record<string, { enum?: string[] }> } }> }, responses: Record<string, unknown>, summary: string } }>
  }
  t.same(document.components.securitySchemes.OAuth2PasswordBearer?.flows.password, { tokenUrl: '/token', refreshUrl: '/token', scopes: { me: 'Read information about the current user.', items: 'Read items.' } })
  const form = document.paths['/token']?.post.requestBody.content['application/x-www-form-urlencoded']?.schema.properties
  t.same(form?.grant_type?.enum, ['password', 'refresh_token'])
  const revoke = document.paths['/revoke']?.post
  t.equal(revoke?.summary, 'Revoke a token')
  t.equal((revoke as { operationId?: string } | undefined)?.operationId, 'revoke')
  t.same((revoke as { tags?: string[] } | undefined)?.tags, ['OAuth2'])
  t.same(Object.keys(revoke?.responses ?? {}).sort(), ['200', '400', '401', '503'])
  t.same(Object.keys(revoke?.requestBody.content['application/x-www-form-urlencoded']?.schema.properties ?? {}), ['token', 'token_type_hint', 'client_id', 'client_secret'])

  const plain = await documentedApp(t, {})
  const plainDocument = plain.swagger() as typeof document
  t.same(plainDocument.components.securitySchemes.OAuth2PasswordBearer?.flows.password, { tokenUrl: '/token', scopes: { me: 'Read information about the current user.', items: 'Read items.' } }, 'no refreshUrl without refresh tokens')
  t.equal(plainDocument.paths['/revoke'], undefined)
})
