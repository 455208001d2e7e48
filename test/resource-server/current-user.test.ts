import { Buffer } from 'node:buffer'
import { createHmac } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { InsufficientScopeError, type Authentication, type OAuth2PasswordOptions } from '../../lib/index.js'
import { buildApp, login, SECRET, seedUsers, type TestApp, type TestUser, userView } from '../helpers/build-app.js'
import { fakeApiKey } from '../helpers/fake-api-key.js'

// request.currentUser() and request.auth: what a handler sees of the authenticated user.

const REALM_ONLY = 'Bearer realm="api"'
const MISSING = { statusCode: 401, code: 'FST_OAUTH2_MISSING_CREDENTIALS', error: 'Unauthorized', message: 'Not authenticated' }
const GONE = 'The user of this token is unknown or disabled'

function invalidTokenChallenge (description: string): string {
  return `Bearer realm="api", error="invalid_token", error_description="${description}"`
}

function invalidToken (message: string) {
  return { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message }
}

function profile (user: TestUser | null) {
  return user === null ? null : { id: user.id, username: user.username, fullName: user.fullName }
}

/** The test app with `findById` counted. */
async function countingApp (t: Test, setup: (app: FastifyInstance) => void, options: Partial<OAuth2PasswordOptions> = {}): Promise<TestApp & { lookups: string[] }> {
  const lookups: string[] = []
  const users = seedUsers()
  const built = await buildApp({
    ...options,
    users: {
      findByUsername: (username) => users.get(username) ?? null,
      findById: async function findById (id) {
        lookups.push(id)
        return userView(users.get(id))
      }
    }
  }, setup)
  t.teardown(() => built.app.close())
  return { app: built.app, users, lookups }
}

async function get (app: FastifyInstance, url: string, token?: string) {
  return await app.inject({ url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
}

t.test('on a protected route', async (t) => {
  t.test('resolves the user findById returns, memoised per request', async (t) => {
    const { app, lookups } = await countingApp(t, (app) => {
      app.get('/users/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async function me (request) {
        const first = await request.currentUser()
        const again = await Promise.all([request.currentUser(), request.currentUser({ optional: true })])
        return { same: again.every((user) => user === first), user: profile(first as TestUser) }
      })
    })
    const token = await login(app)
    const response = await get(app, '/users/me', token)
    t.equal(response.statusCode, 200)
    t.same(response.json(), { same: true, user: { id: 'johndoe', username: 'johndoe', fullName: 'John Doe' } })
    t.same(lookups, ['johndoe'], 'findById ran once for three calls')

    lookups.length = 0
    const bob = await login(app, 'bob')
    t.same((await get(app, '/users/me', bob)).json(), { same: true, user: { id: 'bob', username: 'bob', fullName: 'Bob Builder' } })
    t.same(lookups, ['bob'], 'and once for the next request: no memory across requests')
  })

  t.test('request.auth: scheme, principal, scopes (a Set) and the verified claims', async (t) => {
    const { app } = await countingApp(t, (app) => {
      app.get('/auth', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async function auth (request) {
        const auth = request.auth as Authentication
        const claims = auth.claims as Record<string, unknown>
        return {
          scheme: auth.scheme,
          principal: profile(auth.principal as TestUser),
          samePrincipal: auth.principal === await request.currentUser(),
          scopesIsSet: auth.scopes instanceof Set,
          scopes: [...auth.scopes],
          claimNames: Object.keys(claims).sort(),
          sub: claims.sub,
          scope: claims.scope,
          jti: typeof claims.jti,
          lifetime: (claims.exp as number) - (claims.iat as number)
        }
      })
    })
    const token = await login(app, 'johndoe', 'items me')
    const response = await get(app, '/auth', token)
    t.equal(response.statusCode, 200)
    t.same(response.json(), {
      scheme: 'OAuth2PasswordBearer',
      principal: { id: 'johndoe', username: 'johndoe', fullName: 'John Doe' },
      samePrincipal: true,
      scopesIsSet: true,
      scopes: ['items', 'me'],
      claimNames: ['exp', 'iat', 'jti', 'scope', 'sub'],
      sub: 'johndoe',
      scope: 'items me',
      jti: 'string',
      lifetime: 1800
    })
  })

  t.test('a token granted no scope has an empty scope set', async (t) => {
    const { app } = await countingApp(t, (app) => {
      app.get('/auth', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async function auth (request) {
        return { size: request.auth?.scopes.size }
      })
    })
    const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    t.same((await get(app, '/auth', token)).json(), { size: 0 })
  })

  t.test('request.auth is null on an unprotected route that never asks', async (t) => {
    const { app } = await countingApp(t, (app) => {
      app.get('/open', async function open (request) {
        return { auth: request.auth }
      })
    })
    const token = await login(app)
    t.same((await get(app, '/open', token)).json(), { auth: null })
  })

  t.test('a user disabled after the token was issued is refused on every protected route', async (t) => {
    const { app, users } = await countingApp(t, (app) => {
      app.get('/users/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => profile(await request.currentUser() as TestUser))
      app.get('/items', { schema: { security: [{ OAuth2PasswordBearer: ['me', 'items'] }] } }, async () => [{ item_id: 'Foo' }])
      app.get('/status', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async () => ({ ok: true }))
      app.get('/on-demand', async (request) => profile(await request.currentUser() as TestUser))
    })
    const token = await login(app)
    for (const url of ['/users/me', '/items', '/status', '/on-demand']) t.equal((await get(app, url, token)).statusCode, 200, `${url} before`)
    ;(users.get('johndoe') as TestUser).disabled = true
    for (const url of ['/users/me', '/items', '/status', '/on-demand']) {
      const response = await get(app, url, token)
      t.equal(response.statusCode, 401, `${url} after`)
      t.equal(response.headers['www-authenticate'], invalidTokenChallenge(GONE))
      t.same(response.json(), invalidToken(GONE))
    }
  })

  t.test('a user with disabled: false is enabled', async (t) => {
    const { app, users } = await countingApp(t, (app) => {
      app.get('/status', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async () => ({ ok: true }))
    })
    const token = await login(app)
    ;(users.get('johndoe') as { disabled?: unknown }).disabled = false
    t.equal((await get(app, '/status', token)).statusCode, 200)
  })
})

t.test('on an unprotected route: authenticates on demand', async (t) => {
  async function onDemandApp (t: Test) {
    return await countingApp(t, (app) => {
      app.get('/required', async function required (request) {
        const user = await request.currentUser()
        await request.currentUser()
        await request.currentUser()
        return { user: profile(user as TestUser), auth: request.auth?.scheme ?? null, scopes: [...request.auth?.scopes ?? []] }
      })
      app.get('/optional', async function optional (request) {
        const [user] = await Promise.all([request.currentUser({ optional: true }), request.currentUser({ optional: true })])
        return { user: profile(user as TestUser | null) }
      })
    })
  }

  t.test('with a valid token: the user, once, and request.auth filled in', async (t) => {
    const { app, lookups } = await onDemandApp(t)
    const token = await login(app, 'bob')
    const response = await get(app, '/required', token)
    t.equal(response.statusCode, 200)
    t.same(response.json(), { user: { id: 'bob', username: 'bob', fullName: 'Bob Builder' }, auth: 'OAuth2PasswordBearer', scopes: ['me'] })
    t.same(lookups, ['bob'])
    lookups.length = 0
    t.same((await get(app, '/optional', token)).json(), { user: { id: 'bob', username: 'bob', fullName: 'Bob Builder' } })
    t.same(lookups, ['bob'], 'concurrent calls share one lookup')
  })

  t.test('without credentials: 401 with a bare Bearer challenge', async (t) => {
    const { app } = await onDemandApp(t)
    const response = await get(app, '/required')
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], REALM_ONLY)
    t.same(response.json(), MISSING)
  })

  t.test('without credentials, optional: null', async (t) => {
    const { app, lookups } = await onDemandApp(t)
    const response = await get(app, '/optional')
    t.equal(response.statusCode, 200)
    t.same(response.json(), { user: null })
    t.same(lookups, [])
  })

  t.test('a bad token is refused, optional or not', async (t) => {
    const { app } = await onDemandApp(t)
    for (const url of ['/required', '/optional']) {
      const response = await get(app, url, 'not-a-jwt')
      t.equal(response.statusCode, 401, url)
      t.equal(response.headers['www-authenticate'], invalidTokenChallenge('The access token is invalid'))
      t.same(response.json(), invalidToken('The access token is invalid'))
    }
  })

  t.test('a malformed header is refused with 400, optional or not', async (t) => {
    const { app } = await onDemandApp(t)
    const message = 'The Authorization header is not a valid Bearer credential'
    for (const url of ['/required', '/optional']) {
      const response = await app.inject({ url, headers: { authorization: 'Bearer a b' } })
      t.equal(response.statusCode, 400, url)
      t.equal(response.headers['www-authenticate'], `Bearer realm="api", error="invalid_request", error_description="${message}"`)
      t.same(response.json(), { statusCode: 400, code: 'FST_OAUTH2_MALFORMED_CREDENTIALS', error: 'Bad Request', message })
    }
  })

  t.test('the token of a deleted user is refused', async (t) => {
    const { app, users } = await onDemandApp(t)
    const token = await login(app)
    users.delete('johndoe')
    const response = await get(app, '/optional', token)
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], invalidTokenChallenge(GONE))
    t.same(response.json(), invalidToken(GONE))
  })

  t.test('a failing user store is a server error, not a refusal', async (t) => {
    const built = await buildApp({
      users: {
        findByUsername: () => null,
        findById: () => { throw new Error('database is down') },
        // issueTokens asks the account policy, which here does not need findById
        findAccountById: () => ({ scopes: ['me'] })
      }
    }, (app) => {
      app.get('/required', async (request) => await request.currentUser())
    })
    t.teardown(() => built.app.close())
    const token = (await built.app.oauth2.issueTokens({ id: 'johndoe' }, ['me'])).access_token
    const response = await get(built.app, '/required', token)
    t.equal(response.statusCode, 500)
    t.equal(response.headers['www-authenticate'], undefined)
    t.notOk(response.body.includes(token))
  })
})

t.test('a custom error handler still gets the challenge of an on-demand refusal', async (t) => {
  const { app } = await countingApp(t, (app) => {
    // Keeps Fastify's error shape, as apps' handlers usually do, and never applies error.headers itself
    app.setErrorHandler(function customErrorHandler (error: { statusCode?: number, code?: string }, _request, reply) {
      const statusCode = error.statusCode ?? 500
      reply.code(statusCode).send({ statusCode, code: error.code ?? 'APP', error: 'Custom', message: 'handled by the app' })
    })
    app.get('/required', async (request) => profile(await request.currentUser() as TestUser))
    app.get('/own-refusal', async function ownRefusal () {
      // The app's own use of the catalogue, without challenges: nothing to add
      throw new InsufficientScopeError()
    })
    app.get('/bug', async function bug () {
      throw new Error('not a refusal')
    })
  })
  const cases: Array<[string, Record<string, string>, number, string | undefined, string]> = [
    ['/required', {}, 401, REALM_ONLY, 'FST_OAUTH2_MISSING_CREDENTIALS'],
    ['/required', { authorization: 'Bearer not-a-jwt' }, 401, invalidTokenChallenge('The access token is invalid'), 'FST_OAUTH2_INVALID_TOKEN'],
    ['/own-refusal', {}, 403, undefined, 'FST_OAUTH2_INSUFFICIENT_SCOPE'],
    ['/bug', {}, 500, undefined, 'APP']
  ]
  for (const [url, headers, status, challenge, code] of cases) {
    const response = await app.inject({ url, headers })
    t.equal(response.statusCode, status, url)
    t.equal(response.headers['www-authenticate'], challenge, `${url} challenge`)
    t.same(response.json(), { statusCode: status, code, error: 'Custom', message: 'handled by the app' })
  }
})

t.test('after another scheme authenticated the route', async (t) => {
  // A scheme whose principal is not a user of the store (an API key's owner, say)
  const apiKey = fakeApiKey(() => 'ApiKey', 'good-key')

  async function apiKeyApp (t: Test) {
    return await countingApp(t, (app) => {
      app.get('/either', { schema: { security: [{ ApiKey: [] }, { OAuth2PasswordBearer: [] }] } }, async function either (request) {
        const user = await request.currentUser({ optional: true })
        return { scheme: request.auth?.scheme, principal: request.auth?.principal, user: profile(user as TestUser | null) }
      })
    }, { securitySchemes: { ApiKey: apiKey } })
  }

  t.test('currentUser() still reads the bearer token, and request.auth keeps the winning scheme', async (t) => {
    const { app, lookups } = await apiKeyApp(t)
    const token = await login(app)
    const response = await app.inject({ url: '/either', headers: { 'x-api-key': 'good-key', authorization: `Bearer ${token}` } })
    t.equal(response.statusCode, 200)
    t.same(response.json(), { scheme: 'ApiKey', principal: { service: 'billing' }, user: { id: 'johndoe', username: 'johndoe', fullName: 'John Doe' } })
    t.same(lookups, ['johndoe'])
  })

  t.test('an API key alone: optional currentUser() is null', async (t) => {
    const { app } = await apiKeyApp(t)
    const response = await app.inject({ url: '/either', headers: { 'x-api-key': 'good-key' } })
    t.same(response.json(), { scheme: 'ApiKey', principal: { service: 'billing' }, user: null })
  })

  t.test('the bearer alternative: request.auth is the user', async (t) => {
    const { app } = await apiKeyApp(t)
    const token = await login(app)
    const response = await get(app, '/either', token)
    const johndoe = { id: 'johndoe', username: 'johndoe', fullName: 'John Doe' }
    t.match(response.json(), { scheme: 'OAuth2PasswordBearer', principal: johndoe, user: johndoe })
  })
})

t.test('request.auth.scopes stays right for many distinct scope strings', async (t) => {
  const { app } = await countingApp(t, (app) => {
    app.get('/scopes', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async (request) => [...request.auth?.scopes ?? []])
  })
  const now = Math.floor(Date.now() / 1000)
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' })).toString('base64url')
  function token (scope: string): string {
    const payload = Buffer.from(JSON.stringify({ sub: 'bob', scope, iat: now, exp: now + 60, jti: `jti-${scope.length}-${scope.slice(-4)}` })).toString('base64url')
    return `${header}.${payload}.${createHmac('sha256', SECRET).update(`${header}.${payload}`).digest('base64url')}`
  }
  // More distinct scope strings than the scheme keeps shared sets for (1024)
  const scopes = Array.from({ length: 1100 }, (_, i) => `me s${i}`)
  let wrong = 0
  for (const scope of [...scopes, scopes[0] as string]) {
    const body = (await get(app, '/scopes', token(scope))).json()
    if (JSON.stringify(body) !== JSON.stringify(scope.split(' '))) wrong++
  }
  t.equal(wrong, 0)
})
