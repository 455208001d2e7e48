import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import oauth2Password, { type OAuth2PasswordOptions, type SecurityRequirement } from '../../lib/index.js'
import { authenticateRequest, combineRequirements, compileRequirement } from '../../lib/resource-server/requirements.js'
import { buildApp, login, SCOPES, SECRET, seedUsers, type TestApp, type TestUserView, userView } from '../helpers/build-app.js'
import { fakeApiKey } from '../helpers/fake-api-key.js'

// Security requirements as OpenAPI states them: an array is any-of, an object all-of,
// `{}` admits anonymous requests. Each case is a route answered end to end.

const REALM_ONLY = 'Bearer realm="api"'
const MISSING = { statusCode: 401, code: 'FST_OAUTH2_MISSING_CREDENTIALS', error: 'Unauthorized', message: 'Not authenticated' }
const FORBIDDEN = { statusCode: 403, code: 'FST_OAUTH2_INSUFFICIENT_SCOPE', error: 'Forbidden', message: 'Not enough permissions' }

function insufficientScope (scope: string): string {
  return `Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="${scope}"`
}

/** The fake API-key scheme, its challenge naming the error code when there is one. */
const apiKey = fakeApiKey((error) => error === null ? 'ApiKey realm="api"' : `ApiKey realm="api", error="${error.code}"`)

interface Counted extends TestApp {
  lookups: string[]
}

/** The test app plus the ApiKey scheme, with `findById` calls recorded. */
async function appWith (t: Test, routes: Record<string, SecurityRequirement[]>, options: Partial<OAuth2PasswordOptions> = {}): Promise<Counted> {
  const lookups: string[] = []
  const users = seedUsers()
  const built = await buildApp({
    securitySchemes: { ApiKey: apiKey },
    users: {
      findByUsername: (username) => users.get(username) ?? null,
      findById (id) {
        lookups.push(id)
        return userView(users.get(id))
      }
    },
    ...options
  }, (app) => {
    for (const [url, security] of Object.entries(routes)) {
      app.get(url, { schema: { security } }, async function route (request) {
        return { scheme: request.auth?.scheme ?? null, principal: request.auth?.principal ?? null }
      })
    }
  })
  t.teardown(() => built.app.close())
  return { app: built.app, users, lookups }
}

async function get (app: FastifyInstance, url: string, headers: Record<string, string> = {}) {
  return await app.inject({ url, headers })
}

function bearer (token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` }
}

function user (id: string) {
  const found = userView(seedUsers().get(id)) as TestUserView
  return { ...found, scopes: [...found.scopes ?? []] }
}

t.test('any of: alternatives of the password-flow scheme with different scopes', async (t) => {
  const routes: Record<string, SecurityRequirement[]> = { '/either': [{ OAuth2PasswordBearer: ['items'] }, { OAuth2PasswordBearer: ['me'] }] }

  t.test('each alternative admits on its own, the token verified and the user found once', async (t) => {
    const { app, lookups } = await appWith(t, routes)
    for (const [name, scope] of [['johndoe', undefined], ['johndoe', 'items'], ['bob', undefined]] as const) {
      lookups.length = 0
      const response = await get(app, '/either', bearer(await login(app, name, scope)))
      t.equal(response.statusCode, 200, `${name} ${scope ?? ''}`)
      t.same(response.json(), { scheme: 'OAuth2PasswordBearer', principal: user(name) })
      t.same(lookups, [name], 'one findById for two alternatives')
    }
  })

  t.test('a token with neither scope: 403 naming the first alternative\'s scopes', async (t) => {
    const { app } = await appWith(t, routes)
    const token = (await app.oauth2.issueTokens({ id: 'johndoe' }, [])).access_token
    const response = await get(app, '/either', bearer(token))
    t.equal(response.statusCode, 403)
    t.equal(response.headers['www-authenticate'], insufficientScope('items'))
    t.same(response.json(), FORBIDDEN)
  })

  t.test('no token: 401 with one challenge for the one scheme', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/either')
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], REALM_ONLY)
    t.same(response.json(), MISSING)
  })
})

t.test('any of: two schemes', async (t) => {
  const routes: Record<string, SecurityRequirement[]> = { '/either': [{ ApiKey: [] }, { OAuth2PasswordBearer: ['me'] }] }

  t.test('either scheme admits; the first alternative wins when both could', async (t) => {
    const { app } = await appWith(t, routes)
    const token = await login(app, 'bob')
    t.same((await get(app, '/either', { 'x-api-key': 'good' })).json(), { scheme: 'ApiKey', principal: { service: 'billing' } })
    t.same((await get(app, '/either', bearer(token))).json(), { scheme: 'OAuth2PasswordBearer', principal: user('bob') })
    t.same((await get(app, '/either', { 'x-api-key': 'good', ...bearer(token) })).json(), { scheme: 'ApiKey', principal: { service: 'billing' } })
  })

  t.test('a bad credential of one scheme does not spoil a good one of the other', async (t) => {
    const { app } = await appWith(t, routes)
    const token = await login(app, 'bob')
    t.same((await get(app, '/either', { 'x-api-key': 'wrong', ...bearer(token) })).json(), { scheme: 'OAuth2PasswordBearer', principal: user('bob') })
    t.same((await get(app, '/either', { 'x-api-key': 'good', authorization: 'Bearer not-a-jwt' })).json(), { scheme: 'ApiKey', principal: { service: 'billing' } })
  })

  t.test('nothing: 401 with one challenge per scheme, in declared order', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/either')
    t.equal(response.statusCode, 401)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api"', REALM_ONLY])
    t.same(response.json(), MISSING)
  })

  t.test('the most telling failure decides: a scope lacking beats a bad key', async (t) => {
    const { app } = await appWith(t, routes)
    const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    const response = await get(app, '/either', { 'x-api-key': 'wrong', ...bearer(token) })
    t.equal(response.statusCode, 403)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api", error="FST_OAUTH2_INVALID_CREDENTIALS"', insufficientScope('me')])
    t.same(response.json(), FORBIDDEN)
  })

  t.test('a malformed bearer header beats a missing key', async (t) => {
    const { app } = await appWith(t, routes)
    const message = 'The Authorization header is not a valid Bearer credential'
    const response = await get(app, '/either', { authorization: 'Bearer a b' })
    t.equal(response.statusCode, 400)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api"', `Bearer realm="api", error="invalid_request", error_description="${message}"`])
    t.same(response.json(), { statusCode: 400, code: 'FST_OAUTH2_MALFORMED_CREDENTIALS', error: 'Bad Request', message })
  })

  t.test('a bad key beats a missing token', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/either', { 'x-api-key': 'wrong' })
    t.equal(response.statusCode, 401)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api", error="FST_OAUTH2_INVALID_CREDENTIALS"', REALM_ONLY])
    t.same(response.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_CREDENTIALS', error: 'Unauthorized', message: 'The API key is invalid' })
  })

  t.test('an unavailable credential store beats everything: 503', async (t) => {
    const { app } = await appWith(t, routes)
    const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    const response = await get(app, '/either', { 'x-api-key': 'down', ...bearer(token) })
    t.equal(response.statusCode, 503)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api", error="FST_OAUTH2_AUTHENTICATION_UNAVAILABLE"', insufficientScope('me')])
    t.same(response.json(), { statusCode: 503, code: 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', error: 'Service Unavailable', message: 'Authentication is temporarily unavailable' })
  })

  t.test('a catalogue error outside the ranking counts as bad credentials', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/either', { 'x-api-key': 'weird' })
    t.equal(response.statusCode, 400)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api", error="FST_OAUTH2_INVALID_REQUEST"', REALM_ONLY])
    t.same(response.json(), { statusCode: 400, code: 'FST_OAUTH2_INVALID_REQUEST', error: 'Bad Request', message: 'The API key request is odd' })
    const tied = await get(app, '/either', { 'x-api-key': 'weird', authorization: 'Bearer not-a-jwt' })
    t.equal(tied.json().code, 'FST_OAUTH2_INVALID_REQUEST', 'on a tie the first failure stays')
  })

  t.test('a scheme that fails for its own reasons is a server error, never a refusal', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/either', { 'x-api-key': 'broken' })
    t.equal(response.statusCode, 500)
    t.equal(response.headers['www-authenticate'], undefined)
  })
})

t.test('all of: one object naming two schemes', async (t) => {
  const routes: Record<string, SecurityRequirement[]> = { '/both': [{ ApiKey: [], OAuth2PasswordBearer: ['me'] }] }

  t.test('both present: admitted, request.auth is the first scheme', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/both', { 'x-api-key': 'good', ...bearer(await login(app, 'bob')) })
    t.equal(response.statusCode, 200)
    t.same(response.json(), { scheme: 'ApiKey', principal: { service: 'billing' } })
  })

  t.test('one missing: 401, the schemes challenged in order', async (t) => {
    const { app } = await appWith(t, routes)
    const token = await login(app, 'bob')
    for (const headers of [bearer(token), { 'x-api-key': 'good' }]) {
      const response = await get(app, '/both', headers)
      t.equal(response.statusCode, 401)
      t.same(response.headers['www-authenticate'], ['ApiKey realm="api"', REALM_ONLY])
      t.same(response.json(), MISSING)
    }
  })

  t.test('the scopes of the second scheme still count', async (t) => {
    const { app } = await appWith(t, routes)
    const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    const response = await get(app, '/both', { 'x-api-key': 'good', ...bearer(token) })
    t.equal(response.statusCode, 403)
    t.same(response.headers['www-authenticate'], ['ApiKey realm="api"', insufficientScope('me')])
  })
})

t.test('all of: several scopes of one scheme', async (t) => {
  const { app } = await appWith(t, { '/items': [{ OAuth2PasswordBearer: ['me', 'items'] }] })
  t.equal((await get(app, '/items', bearer(await login(app)))).statusCode, 200)
  for (const token of [await login(app, 'bob'), await login(app, 'johndoe', 'items')]) {
    const response = await get(app, '/items', bearer(token))
    t.equal(response.statusCode, 403)
    t.equal(response.headers['www-authenticate'], insufficientScope('me items'))
    t.same(response.json(), FORBIDDEN)
  }
})

t.test('{}: anonymous allowed', async (t) => {
  const routes: Record<string, SecurityRequirement[]> = {
    '/maybe': [{ OAuth2PasswordBearer: ['me'] }, {}],
    '/anyone': [{}]
  }

  t.test('no credentials: admitted anonymously', async (t) => {
    const { app } = await appWith(t, routes)
    for (const url of ['/maybe', '/anyone']) {
      const response = await get(app, url)
      t.equal(response.statusCode, 200, url)
      t.same(response.json(), { scheme: null, principal: null })
      t.equal(response.headers['www-authenticate'], undefined)
    }
  })

  t.test('a valid token: authenticated', async (t) => {
    const { app } = await appWith(t, routes)
    const response = await get(app, '/maybe', bearer(await login(app, 'bob')))
    t.same(response.json(), { scheme: 'OAuth2PasswordBearer', principal: user('bob') })
  })

  t.test('bad credentials are still refused', async (t) => {
    const { app } = await appWith(t, routes)
    const invalid = await get(app, '/maybe', bearer('not-a-jwt'))
    t.equal(invalid.statusCode, 401)
    t.equal(invalid.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"')
    t.same(invalid.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token is invalid' })

    const malformed = await get(app, '/maybe', { authorization: 'Bearer a b' })
    t.equal(malformed.statusCode, 400)

    const narrow = await get(app, '/maybe', bearer((await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token))
    t.equal(narrow.statusCode, 403, 'a valid token without the scope does not fall back to anonymous')
    t.equal(narrow.headers['www-authenticate'], insufficientScope('me'))
  })
})

t.test('startup checks', async (t) => {
  async function bootError (t: Test, security: unknown, url = '/x') {
    const app = Fastify()
    t.teardown(() => app.close())
    const users = seedUsers()
    await app.register(oauth2Password, {
      secret: SECRET,
      scopes: SCOPES,
      bcrypt: { cost: 4 },
      securitySchemes: { ApiKey: apiKey },
      users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) }
    })
    app.register(async function routes (child) {
      child.get(url, { schema: { security } as never }, async () => 'unreachable')
    })
    return await app.ready().then(() => null, (error: Error & { code?: string }) => error)
  }

  t.test('an unknown scheme: FST_OAUTH2_UNKNOWN_SCHEME', async (t) => {
    const error = await bootError(t, [{ OAuth2PasswordBearer: ['me'] }, { Nope: [] }])
    t.equal(error?.code, 'FST_OAUTH2_UNKNOWN_SCHEME')
    t.equal(error?.message, 'Route GET /x requires the unknown security scheme "Nope"')
  })

  t.test('an undeclared scope: FST_OAUTH2_UNKNOWN_SCOPE', async (t) => {
    const error = await bootError(t, [{ OAuth2PasswordBearer: ['me', 'admin'] }])
    t.equal(error?.code, 'FST_OAUTH2_UNKNOWN_SCOPE')
    t.equal(error?.message, 'Route GET /x requires the undeclared scope "admin" of scheme "OAuth2PasswordBearer"')
  })

  t.test('a scope on a scheme without scopes: FST_OAUTH2_UNKNOWN_SCOPE', async (t) => {
    const error = await bootError(t, [{ ApiKey: ['me'] }])
    t.equal(error?.code, 'FST_OAUTH2_UNKNOWN_SCOPE')
    t.equal(error?.message, 'Route GET /x requires the undeclared scope "me" of scheme "ApiKey"')
  })

  t.test('a valid requirement boots', async (t) => {
    t.equal(await bootError(t, [{ ApiKey: [], OAuth2PasswordBearer: ['me'] }, {}]), null)
  })
})

t.test('combineRequirements: every pair of alternatives, scopes of a shared scheme united', async (t) => {
  t.same(combineRequirements([{ A: ['me'] }], [{ A: ['items'] }]), [{ A: ['me', 'items'] }])
  t.same(combineRequirements([{ A: ['me'] }], [{ A: ['me'], B: [] }]), [{ A: ['me'], B: [] }])
  t.same(combineRequirements([{ A: [] }, { B: [] }], [{ C: ['x'] }, {}]), [{ A: [], C: ['x'] }, { A: [] }, { B: [], C: ['x'] }, { B: [] }])
  t.same(combineRequirements([{}], [{ A: ['me'] }]), [{ A: ['me'] }])
  const outer = [{ A: ['me'] }]
  combineRequirements(outer, [{ A: ['items'] }])
  t.same(outer, [{ A: ['me'] }], 'inputs are left alone')
})

t.test('authenticateRequest fails closed on a requirement with no alternative at all', async (t) => {
  // Routes never get here (`security: []` installs no hook); the enforcer itself must still never admit by default
  const requirement = compileRequirement([], new Map(), 'GET /x')
  t.same(requirement, { alternatives: [], anonymous: false, schemes: [] })
  const error = await authenticateRequest({ headers: {} } as FastifyRequest, requirement).then(() => null, (err: Error & { code?: string }) => err)
  t.equal(error?.code, 'FST_OAUTH2_MISSING_CREDENTIALS')
})

t.test('a default requirement naming an unknown scheme or scope fails at register time, with no route using it', async (t) => {
  for (const [security, code] of [[[{ Nope: [] }], 'FST_OAUTH2_UNKNOWN_SCHEME'], [[{ OAuth2PasswordBearer: ['admin'] }], 'FST_OAUTH2_UNKNOWN_SCOPE']] as const) {
    const app = Fastify()
    t.teardown(() => app.close())
    const users = seedUsers()
    app.register(oauth2Password, {
      secret: SECRET,
      scopes: SCOPES,
      security: security as never,
      users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) }
    })
    await t.rejects(async () => await app.ready(), { code }, code)
  }
})
