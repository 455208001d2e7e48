import t, { type Test } from 'tap'
import { apiKey, InvalidCredentialsError } from '../lib/index.js'
import { authenticateAs, overrideCurrentUser, overrideScheme } from '../lib/testing.js'
import { buildSchemeApp, errorBody, whoami } from './helpers/scheme-app.js'

async function appWithRoutes (t: Test) {
  const built = await buildSchemeApp({
    securitySchemes: { ApiKey: apiKey({ in: 'header', name: 'X-API-Key', verify: (key) => key === 'real-key-0123456789' ? { client: 'real' } : null }) }
  }, (app) => {
    app.get('/users/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => await request.currentUser())
    app.get('/items', { schema: { security: [{ OAuth2PasswordBearer: ['me', 'items'] }] } }, whoami)
    app.get('/reports', { schema: { security: [{ ApiKey: [] }] } }, whoami)
    app.get('/profile', async (request) => ({ user: await request.currentUser({ optional: true }) }))
  })
  t.teardown(() => built.app.close())
  return built
}

t.test('authenticateAs: a real token signed with the app\'s keys, through the whole check', async (t) => {
  const { app } = await appWithRoutes(t)
  const headers = await authenticateAs(app, { id: 'johndoe' }, ['me'])
  t.match(headers.authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
  const me = await app.inject({ url: '/users/me', headers })
  t.equal(me.statusCode, 200)
  t.equal(me.json().id, 'johndoe')
  const items = await app.inject({ url: '/items', headers })
  t.equal(items.statusCode, 403, 'scopes are enforced as for any token')
  const all = await app.inject({ url: '/items', headers: await authenticateAs(app, { id: 'johndoe', scopes: ['me', 'items'] }) })
  t.same(all.json().scopes, ['me', 'items'], 'without scopes, the user\'s own')
  // Issue 8 §1: issuance asks the account policy, so bob (who holds only me) gets me, and nobody gets nothing
  const bob = await app.inject({ url: '/items', headers: await authenticateAs(app, { id: 'bob', scopes: ['me', 'items'] }) })
  t.equal(bob.statusCode, 403, 'narrowed to the account\'s scopes')
  await t.rejects(authenticateAs(app, { id: 'nobody' }, ['me']), { code: 'FST_OAUTH2_INVALID_GRANT' }, 'the user must exist in the store')
  await t.rejects(authenticateAs(app, { id: 'johndoe' }, ['admin']), { code: 'FST_OAUTH2_INVALID_SCOPE' })
})

t.test('overrideCurrentUser: every request is that user, no credentials needed; scopes still count; restore undoes it', async (t) => {
  const { app } = await appWithRoutes(t)
  const fake = { id: 'test-user', username: 'tester' }
  const restore = overrideCurrentUser(app, fake, ['me'])
  const me = await app.inject({ url: '/users/me' })
  t.equal(me.statusCode, 200)
  t.same(me.json(), fake)
  const profile = await app.inject({ url: '/profile' })
  t.same(profile.json(), { user: fake }, 'routes without a requirement see the user too')
  const items = await app.inject({ url: '/items' })
  t.equal(items.statusCode, 403)
  t.same(items.json(), errorBody(403, 'FST_OAUTH2_INSUFFICIENT_SCOPE', 'Not enough permissions'))
  restore()
  const after = await app.inject({ url: '/users/me' })
  t.equal(after.statusCode, 401)
  t.same(after.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  t.throws(() => overrideCurrentUser(app, fake, ['admin']), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option scopes: "admin" is not declared by the scheme "OAuth2PasswordBearer"' })
  const noScopes = overrideCurrentUser(app, fake)
  t.equal((await app.inject({ url: '/users/me' })).statusCode, 403, 'no scopes by default')
  noScopes()
})

t.test('overrideScheme: any scheme, null for no credentials, catalogue errors refuse, real() runs the scheme', async (t) => {
  const { app } = await appWithRoutes(t)
  const restore = overrideScheme(app, 'ApiKey', async (request, real) => {
    const key = request.headers['x-api-key']
    if (key === 'test') return { principal: { client: 'fake' }, claims: { test: true } }
    if (key === 'refuse') throw new InvalidCredentialsError('Refused by the test')
    if (key === undefined) return null
    const authentication = await real(request)
    return authentication === null ? null : { principal: authentication.principal }
  })
  t.teardown(restore)
  const fake = await app.inject({ url: '/reports', headers: { 'x-api-key': 'test' } })
  t.same(fake.json(), { scheme: 'ApiKey', principal: { client: 'fake' }, scopes: [] })
  const refused = await app.inject({ url: '/reports', headers: { 'x-api-key': 'refuse' } })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['www-authenticate'], 'APIKey realm="api", in="header", name="X-API-Key"')
  t.same(refused.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'Refused by the test'))
  t.equal((await app.inject({ url: '/reports' })).statusCode, 401)
  const real = await app.inject({ url: '/reports', headers: { 'x-api-key': 'real-key-0123456789' } })
  t.same(real.json().principal, { client: 'real' })
  const wrong = await app.inject({ url: '/reports', headers: { 'x-api-key': 'wrong-key-0123456789' } })
  t.equal(wrong.json().code, 'FST_OAUTH2_INVALID_CREDENTIALS')
  restore()
  t.equal((await app.inject({ url: '/reports', headers: { 'x-api-key': 'test' } })).statusCode, 401, 'restored')
  t.throws(() => overrideScheme(app, 'Nope', () => null), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option scheme: "Nope" is not registered (known: OAuth2PasswordBearer, ApiKey)' })
})

t.test('overrides belong to one app: another app of the same code is untouched', async (t) => {
  const first = await appWithRoutes(t)
  const second = await appWithRoutes(t)
  overrideCurrentUser(first.app, { id: 'x' }, ['me'])
  t.equal((await first.app.inject({ url: '/users/me' })).statusCode, 200)
  t.equal((await second.app.inject({ url: '/users/me' })).statusCode, 401)
})
