import { Buffer } from 'node:buffer'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { accessTokensWith } from '../helpers/access-tokens.js'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { buildApp, PASSWORD, postForm, SECRET, type TestUser } from '../helpers/build-app.js'
import { observedStore } from '../helpers/token-stores.js'

// RFC 7009 (OAuth 2.0 Token Revocation): POST /revoke as a client sees it, and
// app.oauth2.revokeToken() for the app itself.

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }
const REVOKED_CHALLENGE = 'Bearer realm="api", error="invalid_token", error_description="The access token has been revoked"'
const REVOKED_BODY = { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token has been revoked' }

interface Tokens { access_token: string, refresh_token: string }

async function revocationApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}) {
  const built = await buildApp({ refreshTokens: true, revocation: { checkAccessTokens: true }, ...options }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async (request) => ({ id: (await request.currentUser() as unknown as TestUser).id }))
  })
  t.teardown(() => built.app.close())
  return built
}

async function login (app: FastifyInstance, form: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Tokens> {
  const response = await postForm(app, { username: 'johndoe', password: PASSWORD, ...form }, headers)
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.json() as Tokens
}

async function revoke (app: FastifyInstance, form: Record<string, string> | string, headers: Record<string, string> = {}) {
  return await postForm(app, form, headers, '/revoke')
}

async function me (app: FastifyInstance, accessToken: string) {
  return await app.inject({ url: '/me', headers: { authorization: `Bearer ${accessToken}` } })
}

async function refresh (app: FastifyInstance, token: string, form: Record<string, string> = {}) {
  return await postForm(app, { grant_type: 'refresh_token', refresh_token: token, ...form })
}

/** Asserts RFC 7009 §2.2 success: 200, empty body, no-store. */
function assertRevoked (t: Test, response: Awaited<ReturnType<typeof revoke>>, what?: string): void {
  t.equal(response.statusCode, 200, what ?? 'revoked')
  t.equal(response.body, '', 'empty body')
  t.match(response.headers, NO_STORE)
}

function basic (id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`
}

t.test('§2.1: a refresh token is revoked with its whole family, its access tokens included', async (t) => {
  const { app } = await revocationApp(t)
  const first = await login(app)
  const second = (await refresh(app, first.refresh_token)).json() as Tokens
  const other = await login(app)
  assertRevoked(t, await revoke(app, { token: second.refresh_token }))
  t.same((await refresh(app, second.refresh_token)).json(), INVALID_GRANT)
  for (const token of [first.access_token, second.access_token]) {
    const response = await me(app, token)
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], REVOKED_CHALLENGE)
    t.same(response.json(), REVOKED_BODY)
  }
  t.equal((await me(app, other.access_token)).statusCode, 200, 'another login is untouched')
  t.equal((await refresh(app, other.refresh_token)).statusCode, 200)
})

t.test('§2.1: an old token of a family revokes the family too', async (t) => {
  const { app } = await revocationApp(t)
  const first = await login(app)
  const second = (await refresh(app, first.refresh_token)).json() as Tokens
  assertRevoked(t, await revoke(app, { token: first.refresh_token }))
  t.same((await refresh(app, second.refresh_token)).json(), INVALID_GRANT)
})

t.test('§2.1: an access token is revoked by jti, alone', async (t) => {
  const { app } = await revocationApp(t)
  const tokens = await login(app)
  const other = await login(app)
  t.equal((await me(app, tokens.access_token)).statusCode, 200, 'cached as valid first')
  assertRevoked(t, await revoke(app, { token: tokens.access_token }))
  const response = await me(app, tokens.access_token)
  t.equal(response.statusCode, 401, 'refused at once, cache or not')
  t.equal(response.headers['www-authenticate'], REVOKED_CHALLENGE)
  t.same(response.json(), REVOKED_BODY)
  t.equal((await me(app, other.access_token)).statusCode, 200)
  const refreshed = await refresh(app, tokens.refresh_token)
  t.equal(refreshed.statusCode, 200, 'its refresh token lives on')
  t.equal((await me(app, refreshed.json().access_token)).statusCode, 200, 'and its new access tokens work')
})

t.test('§2.2: unknown, invalid and expired tokens are answered 200', async (t) => {
  const { app } = await revocationApp(t)
  const tokens = await login(app)
  const expired = accessTokensWith({ secret: SECRET, ttlSeconds: 1 })
  const realNow = Date.now
  t.intercept(Date, 'now', { value: () => realNow() - 10_000 })
  const old = expired.sign('johndoe', ['me']).token
  t.intercept(Date, 'now', { value: realNow })
  const forged = accessTokensWith({ secret: 'another-secret-that-is-32-bytes-long!!', ttlSeconds: 60 }).sign('johndoe', []).token
  for (const [what, token] of [
    ['garbage', 'garbage'],
    ['an unknown refresh token', `${'A'.repeat(22)}.${'B'.repeat(43)}`],
    ['an expired access token', old],
    ['a forged access token', forged],
    ['a very long string', 'x'.repeat(3000)]
  ] as const) {
    assertRevoked(t, await revoke(app, { token }), what)
  }
  t.equal((await me(app, tokens.access_token)).statusCode, 200, 'nothing real was touched')
  t.equal((await refresh(app, tokens.refresh_token)).statusCode, 200)
})

t.test('§2.1: token_type_hint is a hint: a wrong or unknown one changes nothing', async (t) => {
  const { app } = await revocationApp(t)
  const one = await login(app)
  const two = await login(app)
  const three = await login(app)
  assertRevoked(t, await revoke(app, { token: one.refresh_token, token_type_hint: 'access_token' }))
  t.same((await refresh(app, one.refresh_token)).json(), INVALID_GRANT)
  assertRevoked(t, await revoke(app, { token: two.access_token, token_type_hint: 'refresh_token' }))
  t.equal((await me(app, two.access_token)).statusCode, 401)
  assertRevoked(t, await revoke(app, { token: three.refresh_token, token_type_hint: 'id_token' }))
  t.same((await refresh(app, three.refresh_token)).json(), INVALID_GRANT)
})

t.test('§2.1: the token parameter is required; the form is parsed as at the token endpoint', async (t) => {
  const { app } = await revocationApp(t)
  const missing = await revoke(app, { token_type_hint: 'refresh_token' })
  t.equal(missing.statusCode, 400)
  t.match(missing.headers, NO_STORE)
  t.same(missing.json(), { error: 'invalid_request', error_description: 'The token parameter is missing' })
  const repeated = await revoke(app, 'token=a&token=b')
  t.same(repeated.json(), { error: 'invalid_request', error_description: 'The token parameter is repeated' })
  const json = await app.inject({ method: 'POST', url: '/revoke', payload: { token: 'a' } })
  t.equal(json.statusCode, 400)
  t.same(json.json(), { error: 'invalid_request', error_description: 'The request body must be application/x-www-form-urlencoded' })
  const empty = await app.inject({ method: 'POST', url: '/revoke' })
  t.equal(empty.statusCode, 400)
  t.same(empty.json(), { error: 'invalid_request', error_description: 'The token parameter is missing' }, 'no body at all')
  const get = await app.inject({ method: 'GET', url: '/revoke' })
  t.equal(get.statusCode, 405, 'POST only')
  t.equal(get.headers.allow, 'POST')
})

t.test('§2.2.1: without access-token checks, revoking an access token is unsupported_token_type', async (t) => {
  const { app } = await revocationApp(t, { revocation: { checkAccessTokens: false } })
  const tokens = await login(app)
  const response = await revoke(app, { token: tokens.access_token })
  t.equal(response.statusCode, 400)
  t.match(response.headers, NO_STORE)
  t.same(response.json(), { error: 'unsupported_token_type', error_description: 'The token type is not supported' })
  assertRevoked(t, await revoke(app, { token: tokens.refresh_token }), 'refresh tokens still are revoked')
  assertRevoked(t, await revoke(app, { token: 'garbage' }), 'and invalid tokens still answer 200')
})

t.test('with access-token checks only, the endpoint revokes access tokens', async (t) => {
  const { app } = await revocationApp(t, { refreshTokens: false })
  const tokens = await login(app)
  t.equal(tokens.refresh_token, undefined)
  assertRevoked(t, await revoke(app, { token: tokens.access_token }))
  t.equal((await me(app, tokens.access_token)).statusCode, 401)
  assertRevoked(t, await revoke(app, { token: `${'A'.repeat(22)}.${'B'.repeat(43)}` }), 'a refresh-shaped token is just invalid')
})

t.test('§2.1: the client authenticates, and may revoke only its own tokens', async (t) => {
  const { app } = await revocationApp(t, { clients: { web: { secret: 'web-secret' }, mobile: {} } })
  const web = await login(app, {}, { authorization: basic('web', 'web-secret') })
  const mobile = await login(app, { client_id: 'mobile' })

  // RFC 6749 §5.2: 401 with a challenge when the client tried the Authorization header, 400 otherwise
  const anonymous = await revoke(app, { token: web.refresh_token })
  t.equal(anonymous.statusCode, 400)
  t.equal(anonymous.headers['www-authenticate'], undefined)
  t.same(anonymous.json(), { error: 'invalid_client', error_description: 'Client authentication failed' })
  const wrongSecret = await revoke(app, { token: web.refresh_token }, { authorization: basic('web', 'nope') })
  t.equal(wrongSecret.statusCode, 401)
  t.equal(wrongSecret.headers['www-authenticate'], 'Basic realm="api", charset="UTF-8"')
  t.equal((await revoke(app, { token: web.refresh_token, client_id: 'stranger' })).statusCode, 400)

  for (const token of [web.refresh_token, web.access_token]) {
    const foreign = await revoke(app, { token, client_id: 'mobile' })
    t.equal(foreign.statusCode, 400)
    t.same(foreign.json(), { error: 'invalid_request', error_description: 'The token was issued to another client' })
  }
  t.equal((await me(app, web.access_token)).statusCode, 200, 'the refusals revoked nothing')

  assertRevoked(t, await revoke(app, { token: web.access_token }, { authorization: basic('web', 'web-secret') }))
  assertRevoked(t, await revoke(app, { token: web.refresh_token, client_secret: 'web-secret', client_id: 'web' }), 'credentials in the body')
  t.same((await refresh(app, web.refresh_token, { client_id: 'web', client_secret: 'web-secret' })).json(), INVALID_GRANT)
  assertRevoked(t, await revoke(app, { token: mobile.refresh_token, client_id: 'mobile' }), 'a public client names itself')
})

t.test('a store that fails: 503 temporarily_unavailable with Retry-After', async (t) => {
  const store = observedStore()
  const { app } = await revocationApp(t, { store })
  const tokens = await login(app)
  store.failing = true
  for (const token of [tokens.refresh_token, tokens.access_token]) {
    const response = await revoke(app, { token })
    t.equal(response.statusCode, 503)
    t.match(response.headers, { 'retry-after': '1', ...NO_STORE })
    t.same(response.json(), { error: 'temporarily_unavailable', error_description: 'The token store is unavailable, retry later' })
  }
  await t.rejects(app.oauth2.revokeToken(tokens.refresh_token), { code: 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE', statusCode: 503 })
  await t.rejects(app.oauth2.revokeAllForUser('johndoe'), { code: 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE' })
  store.failing = false
  t.equal((await refresh(app, tokens.refresh_token)).statusCode, 200, 'nothing was revoked')
})

t.test('app.oauth2.revokeToken revokes either kind, whoever it was issued to', async (t) => {
  const { app } = await revocationApp(t, { clients: { web: { secret: 'web-secret' } } })
  const tokens = await login(app, {}, { authorization: basic('web', 'web-secret') })
  await app.oauth2.revokeToken(tokens.access_token)
  t.equal((await me(app, tokens.access_token)).statusCode, 401)
  await app.oauth2.revokeToken(tokens.refresh_token)
  t.same((await refresh(app, tokens.refresh_token, { client_id: 'web', client_secret: 'web-secret' })).json(), INVALID_GRANT)
  await app.oauth2.revokeToken('garbage')
  t.pass('an invalid token is ignored')
})

t.test('revokeUrl and the registration prefix place the endpoint', async (t) => {
  const { app } = await revocationApp(t, { revokeUrl: '/oauth/revoke' })
  assertRevoked(t, await postForm(app, { token: 'x' }, {}, '/oauth/revoke'))
  t.equal((await revoke(app, { token: 'x' })).statusCode, 404)
  const { app: prefixed } = await revocationApp(t, { prefix: '/auth' } as Partial<OAuth2PasswordOptions>)
  assertRevoked(t, await postForm(prefixed, { token: 'x' }, {}, '/auth/revoke'))
})
