import { get } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import {
  apiKey,
  AuthenticationUnavailableError,
  httpBasic,
  httpBearer,
  staticApiKeys,
  TemporarilyUnavailableError,
  type SecurityRequirement
} from '../../lib/index.js'
import { login, PASSWORD } from '../helpers/build-app.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'

const KEY = 'demo-key-0123456789abcdef'
const API_KEY = 'APIKey realm="api", in="header", name="X-API-Key"'
const BEARER = 'Bearer realm="api"'
const BASIC = 'Basic realm="api", charset="UTF-8"'
const OPAQUE_TOKENS = new Map([['opaque-reports', ['reports']], ['opaque-none', []]])

interface Composed {
  app: FastifyInstance
  /** Calls of the opaque-token verify, to see memoisation. */
  opaqueCalls: () => number
}

async function composedApp (t: Test, routes: Record<string, SecurityRequirement[]>): Promise<Composed> {
  let calls = 0
  const { app } = await buildSchemeApp({
    securitySchemes: {
      ApiKey: apiKey({ in: 'header', name: 'X-API-Key', verify: staticApiKeys({ [KEY]: { client: 'demo' } }) }),
      Basic: httpBasic(),
      Opaque: httpBearer({
        scopes: { reports: 'Read reports' },
        verify: (token) => {
          calls++
          const scopes = OPAQUE_TOKENS.get(token)
          if (token === 'opaque-unavailable') throw new AuthenticationUnavailableError()
          if (token === 'opaque-busy') {
            const error = new TemporarilyUnavailableError('Too busy') as Error & { headers?: Record<string, string> }
            error.headers = { 'retry-after': '7' }
            throw error
          }
          return scopes === undefined ? null : { principal: { token }, scopes }
        }
      })
    }
  }, (app) => {
    for (const [url, security] of Object.entries(routes)) {
      app.get(url, { schema: { security } }, async function handler (request) {
        const user = request.auth?.scheme === 'Basic' || request.auth?.scheme === 'OAuth2PasswordBearer' ? await request.currentUser() : null
        return { ...await whoami(request) as object, user: user === null ? null : user.id }
      })
    }
  })
  t.teardown(() => app.close())
  return { app, opaqueCalls: () => calls }
}

function basic (userPass: string): string {
  return `Basic ${Buffer.from(userPass).toString('base64')}`
}

t.test('any of: the first alternative that succeeds wins', async (t) => {
  const { app } = await composedApp(t, { '/any': [{ ApiKey: [] }, { OAuth2PasswordBearer: ['items'] }] })
  const token = await login(app)
  const key = await app.inject({ url: '/any', headers: { 'x-api-key': KEY } })
  t.same(key.json(), { scheme: 'ApiKey', principal: { client: 'demo' }, scopes: [], user: null })
  const bearer = await app.inject({ url: '/any', headers: { authorization: `Bearer ${token}` } })
  t.same(bearer.json().scheme, 'OAuth2PasswordBearer')
  t.same(bearer.json().user, 'johndoe')
  const both = await app.inject({ url: '/any', headers: { 'x-api-key': KEY, authorization: `Bearer ${token}` } })
  t.equal(both.json().scheme, 'ApiKey', 'declared order decides when both are valid')
  const badKey = await app.inject({ url: '/any', headers: { 'x-api-key': 'wrong-key-0123456789', authorization: `Bearer ${token}` } })
  t.equal(badKey.statusCode, 200)
  t.equal(badKey.json().scheme, 'OAuth2PasswordBearer', 'a failing alternative does not stop a later one')
  const badToken = await app.inject({ url: '/any', headers: { 'x-api-key': KEY, authorization: 'Bearer not.a.token' } })
  t.equal(badToken.json().scheme, 'ApiKey')
})

t.test('all of: every scheme of the alternative must succeed; auth is the first, currentUser() still finds the user', async (t) => {
  const { app } = await composedApp(t, { '/all': [{ ApiKey: [], OAuth2PasswordBearer: ['me'] }] })
  const token = await login(app)
  const both = await app.inject({ url: '/all', headers: { 'x-api-key': KEY, authorization: `Bearer ${token}` } })
  t.equal(both.statusCode, 200)
  t.same(both.json(), { scheme: 'ApiKey', principal: { client: 'demo' }, scopes: [], user: null })

  for (const headers of [{ 'x-api-key': KEY }, { authorization: `Bearer ${token}` }, {}]) {
    const response = await app.inject({ url: '/all', headers })
    t.equal(response.statusCode, 401)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
    t.same(response.headers['www-authenticate'], [API_KEY, BEARER])
  }
  const badKey = await app.inject({ url: '/all', headers: { 'x-api-key': 'wrong-key-0123456789', authorization: `Bearer ${token}` } })
  t.equal(badKey.statusCode, 401)
  t.equal(badKey.json().code, 'FST_OAUTH2_INVALID_CREDENTIALS')
})

t.test('all of: the most informative failure decides whatever the declared order', async (t) => {
  const { app } = await composedApp(t, {
    '/key-first': [{ ApiKey: [], OAuth2PasswordBearer: ['items'] }],
    '/token-first': [{ OAuth2PasswordBearer: ['items'], ApiKey: [] }]
  })
  const bob = await login(app, 'bob')
  for (const url of ['/key-first', '/token-first']) {
    // No key, and a valid token without the scope: the 403 says more than "no key"
    const scope = await app.inject({ url, headers: { authorization: `Bearer ${bob}` } })
    t.equal(scope.statusCode, 403, url)
    t.equal(scope.json().code, 'FST_OAUTH2_INSUFFICIENT_SCOPE', url)
    // No key, and an expired or forged token: the client must learn invalid_token to refresh
    const invalid = await app.inject({ url, headers: { authorization: 'Bearer not.a.token' } })
    t.equal(invalid.statusCode, 401, url)
    t.equal(invalid.json().code, 'FST_OAUTH2_INVALID_TOKEN', url)
    const [first, second] = url === '/key-first' ? [/^APIKey /, /^Bearer realm="api", error="invalid_token"/] : [/^Bearer realm="api", error="invalid_token"/, /^APIKey /]
    t.match(invalid.headers['www-authenticate'], [first, second], url)
  }
})

t.test('optional: {} admits requests without credentials, never requests with bad ones', async (t) => {
  const { app } = await composedApp(t, {
    '/optional': [{ OAuth2PasswordBearer: [] }, {}],
    '/optional-scoped': [{ OAuth2PasswordBearer: ['items'] }, {}]
  })
  const anonymous = await app.inject({ url: '/optional' })
  t.equal(anonymous.statusCode, 200)
  t.same(anonymous.json(), { scheme: null, user: null })
  const token = await login(app)
  const known = await app.inject({ url: '/optional', headers: { authorization: `Bearer ${token}` } })
  t.same(known.json().user, 'johndoe')
  const invalid = await app.inject({ url: '/optional', headers: { authorization: 'Bearer not.a.token' } })
  t.equal(invalid.statusCode, 401)
  t.equal(invalid.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"')
  const malformed = await app.inject({ url: '/optional', headers: { authorization: 'Bearer a b' } })
  t.equal(malformed.statusCode, 400)
  // A valid principal without the scope is refused, not downgraded to anonymous
  const bob = await login(app, 'bob')
  const scoped = await app.inject({ url: '/optional-scoped', headers: { authorization: `Bearer ${bob}` } })
  t.equal(scoped.statusCode, 403)
  t.equal(scoped.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="items"')
  t.same(openapi(app).paths['/optional']?.get?.security, [{ OAuth2PasswordBearer: [] }, {}])
})

t.test('every accepted scheme gets its challenge, one WWW-Authenticate field each, in declared order', async (t) => {
  const { app } = await composedApp(t, { '/three': [{ ApiKey: [] }, { OAuth2PasswordBearer: ['items'] }, { Basic: [] }] })
  const response = await app.inject({ url: '/three' })
  t.equal(response.statusCode, 401)
  t.same(response.headers['www-authenticate'], [API_KEY, BEARER, BASIC])
  t.same(response.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  // On the wire: three header fields, not one comma-joined value
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const rawHeaders = await new Promise<string[]>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/three' }, (wire) => {
      wire.resume()
      resolve(wire.rawHeaders)
    }).on('error', reject)
  })
  t.same(rawHeaders.filter((_value, index) => rawHeaders[index - 1]?.toLowerCase() === 'www-authenticate' && index % 2 === 1), [API_KEY, BEARER, BASIC])
})

t.test('status precedence: 503 > 403 > 400 > 401 invalid > 401 missing', async (t) => {
  const { app } = await composedApp(t, {
    '/three': [{ ApiKey: [] }, { OAuth2PasswordBearer: ['items'] }, { Basic: [] }],
    '/mixed': [{ ApiKey: [] }, { Basic: ['items'] }],
    '/flaky': [{ Opaque: [] }, { ApiKey: [] }, { Basic: ['items'] }]
  })
  const bob = await login(app, 'bob')

  const invalidOverMissing = await app.inject({ url: '/three', headers: { 'x-api-key': 'wrong-key-0123456789' } })
  t.equal(invalidOverMissing.statusCode, 401)
  t.equal(invalidOverMissing.json().code, 'FST_OAUTH2_INVALID_CREDENTIALS')

  const malformedOverInvalid = await app.inject({ url: '/three', headers: { 'x-api-key': 'wrong-key-0123456789', authorization: 'Bearer a b' } })
  t.equal(malformedOverInvalid.statusCode, 400)
  t.same(malformedOverInvalid.headers['www-authenticate'], [API_KEY, 'Bearer realm="api", error="invalid_request", error_description="The Authorization header is not a valid Bearer credential"', BASIC])

  const scopeOverInvalid = await app.inject({ url: '/three', headers: { 'x-api-key': 'wrong-key-0123456789', authorization: `Bearer ${bob}` } })
  t.equal(scopeOverInvalid.statusCode, 403)
  t.same(scopeOverInvalid.headers['www-authenticate'], [API_KEY, 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="items"', BASIC])

  const scopeOverMalformed = await app.inject({ url: '/mixed', headers: { 'x-api-key': 'two words', authorization: basic(`bob:${PASSWORD}`) } })
  t.equal(scopeOverMalformed.statusCode, 403)
  t.same(scopeOverMalformed.json(), errorBody(403, 'FST_OAUTH2_INSUFFICIENT_SCOPE', 'Not enough permissions'))

  const unavailable = await app.inject({ url: '/flaky', headers: { authorization: 'Bearer opaque-unavailable', 'x-api-key': 'wrong-key-0123456789' } })
  t.equal(unavailable.statusCode, 503)
  t.same(unavailable.json(), errorBody(503, 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', 'Authentication is temporarily unavailable'))
  t.same(unavailable.headers['www-authenticate'], [BEARER, API_KEY, BASIC])

  // The bcrypt gate's 503 ranks with the other 503, and keeps its Retry-After under the challenges
  const busy = await app.inject({ url: '/flaky', headers: { authorization: 'Bearer opaque-busy', 'x-api-key': 'wrong-key-0123456789' } })
  t.equal(busy.statusCode, 503)
  t.equal(busy.headers['retry-after'], '7')
  t.same(busy.headers['www-authenticate'], [BEARER, API_KEY, BASIC])
  t.same(busy.json(), errorBody(503, 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE', 'Too busy'))
})

t.test('each scheme is tried once per request, whatever number of alternatives name it', async (t) => {
  const { app, opaqueCalls } = await composedApp(t, { '/memo': [{ Opaque: ['reports'] }, { Opaque: [], ApiKey: [] }, { Opaque: [] }] })
  const response = await app.inject({ url: '/memo', headers: { authorization: 'Bearer opaque-none', 'x-api-key': KEY } })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { scheme: 'Opaque', principal: { token: 'opaque-none' }, scopes: [], user: null })
  t.equal(opaqueCalls(), 1)
  const refused = await app.inject({ url: '/memo', headers: { authorization: 'Bearer nothing' } })
  t.equal(refused.statusCode, 401)
  t.equal(opaqueCalls(), 2)
})

t.test('Basic and the password flow both resolve users: currentUser() is the user either way', async (t) => {
  const { app } = await composedApp(t, { '/users/me': [{ OAuth2PasswordBearer: ['me'] }, { Basic: ['me'] }] })
  const viaBasic = await app.inject({ url: '/users/me', headers: { authorization: basic(`johndoe:${PASSWORD}`) } })
  t.same(viaBasic.json(), { scheme: 'Basic', principal: viaBasic.json().principal, scopes: ['me', 'items'], user: 'johndoe' })
  const viaToken = await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${await login(app, 'bob')}` } })
  t.same(viaToken.json().user, 'bob')
})
