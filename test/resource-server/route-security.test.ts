import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import type { OAuth2PasswordOptions, SecurityRequirement } from '../../lib/index.js'
import { buildApp, login, registerPlugin, seedUsers, userView } from '../helpers/build-app.js'

// Which routes a requirement applies to: the route's own `schema.security`, the plugin
// default, `app.requireSecurity()` of its encapsulation context, and how they combine.

const REALM_ONLY = 'Bearer realm="api"'
const MISSING = { statusCode: 401, code: 'FST_OAUTH2_MISSING_CREDENTIALS', error: 'Unauthorized', message: 'Not authenticated' }
const FORBIDDEN = { statusCode: 403, code: 'FST_OAUTH2_INSUFFICIENT_SCOPE', error: 'Forbidden', message: 'Not enough permissions' }

function insufficientScope (scope: string): string {
  return `Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="${scope}"`
}

async function app (t: Test, setup: (app: FastifyInstance) => void | Promise<void>, options: Partial<OAuth2PasswordOptions> = {}): Promise<FastifyInstance> {
  const built = await buildApp(options, setup)
  t.teardown(() => built.app.close())
  return built.app
}

async function ok () {
  return { ok: true }
}

async function get (app: FastifyInstance, url: string, token?: string) {
  return await app.inject({ url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
}

async function assertStatus (t: Test, app: FastifyInstance, url: string, token: string | undefined, status: number, challenge?: string) {
  const response = await get(app, url, token)
  t.equal(response.statusCode, status, `${url} ${token === undefined ? 'anonymous' : 'with a token'}`)
  if (status === 200) {
    t.same(response.json(), { ok: true })
    t.equal(response.headers['www-authenticate'], undefined)
  } else {
    t.equal(response.headers['www-authenticate'], challenge)
    t.same(response.json(), status === 401 ? MISSING : FORBIDDEN)
  }
}

t.test('the plugin-level default requirement', async (t) => {
  const options = { security: [{ OAuth2PasswordBearer: ['me'] }] }
  async function defaultApp (t: Test) {
    return await app(t, (app) => {
      app.get('/undeclared', ok)
      app.get('/public', { schema: { security: [] } }, ok)
      app.get('/hidden', { schema: { hide: true } }, ok)
      app.get('/hidden-but-declared', { schema: { hide: true, security: [{ OAuth2PasswordBearer: [] }] } }, ok)
      app.get('/own', { schema: { security: [{ OAuth2PasswordBearer: ['me', 'items'] }] } }, ok)
      app.register(async function nested (child) {
        child.get('/nested', ok)
      })
    }, options)
  }

  t.test('protects routes that declare nothing, nested contexts included', async (t) => {
    const server = await defaultApp(t)
    const bob = await login(server, 'bob')
    for (const url of ['/undeclared', '/nested']) {
      await assertStatus(t, server, url, undefined, 401, REALM_ONLY)
      await assertStatus(t, server, url, bob, 200)
    }
    const none = (await server.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    await assertStatus(t, server, '/undeclared', none, 403, insufficientScope('me'))
  })

  t.test('security: [] opts out', async (t) => {
    const server = await defaultApp(t)
    await assertStatus(t, server, '/public', undefined, 200)
  })

  t.test('hidden routes get the default like any other: hiding changes the document only', async (t) => {
    const server = await defaultApp(t)
    await assertStatus(t, server, '/hidden', undefined, 401, REALM_ONLY)
    await assertStatus(t, server, '/hidden-but-declared', undefined, 401, REALM_ONLY)
  })

  t.test('a route\'s own requirement replaces the default', async (t) => {
    const server = await defaultApp(t)
    await assertStatus(t, server, '/own', await login(server, 'bob'), 403, insufficientScope('me items'))
    await assertStatus(t, server, '/own', await login(server), 200)
  })

  t.test('the token endpoint stays reachable', async (t) => {
    const server = await defaultApp(t)
    t.type(await login(server), 'string')
  })

  t.test('404s are not routes: no challenge', async (t) => {
    const server = await defaultApp(t)
    const response = await get(server, '/nowhere')
    t.equal(response.statusCode, 404)
    t.equal(response.headers['www-authenticate'], undefined)
  })
})

t.test('app.requireSecurity() in an encapsulated context', async (t) => {
  async function contextApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}) {
    return await app(t, (app) => {
      app.register(async function users (child) {
        child.requireSecurity({ OAuth2PasswordBearer: ['me'] })
        child.get('/users/me', ok)
        child.get('/users/me/items', { schema: { security: [{ OAuth2PasswordBearer: ['items'] }] } }, ok)
        child.get('/users/opt-out', { schema: { security: [] } }, ok)
        child.register(async function admin (grandchild) {
          grandchild.requireSecurity([{ OAuth2PasswordBearer: ['items'] }])
          grandchild.get('/users/deep', ok)
        })
      })
      app.register(async function sibling (child) {
        child.get('/sibling', ok)
      })
      app.get('/root', ok)
    }, options)
  }

  t.test('protects the context\'s routes, even one that says security: []', async (t) => {
    const server = await contextApp(t)
    for (const url of ['/users/me', '/users/opt-out']) {
      await assertStatus(t, server, url, undefined, 401, REALM_ONLY)
      await assertStatus(t, server, url, await login(server, 'bob'), 200)
    }
  })

  t.test('combines with the route\'s own scopes: parent me + route items needs both', async (t) => {
    const server = await contextApp(t)
    await assertStatus(t, server, '/users/me/items', await login(server, 'bob'), 403, insufficientScope('me items'))
    await assertStatus(t, server, '/users/me/items', await login(server, 'johndoe', 'items'), 403, insufficientScope('me items'))
    await assertStatus(t, server, '/users/me/items', await login(server), 200)
  })

  t.test('a nested context adds to its parent\'s requirement', async (t) => {
    const server = await contextApp(t)
    await assertStatus(t, server, '/users/deep', await login(server, 'bob'), 403, insufficientScope('me items'))
    await assertStatus(t, server, '/users/deep', await login(server), 200)
  })

  t.test('sibling contexts and the root are unaffected', async (t) => {
    const server = await contextApp(t)
    await assertStatus(t, server, '/sibling', undefined, 200)
    await assertStatus(t, server, '/root', undefined, 200)
  })

  t.test('combines with the plugin default too', async (t) => {
    const server = await contextApp(t, { security: [{ OAuth2PasswordBearer: ['items'] }] })
    await assertStatus(t, server, '/users/me', await login(server, 'bob'), 403, insufficientScope('me items'))
    await assertStatus(t, server, '/users/opt-out', await login(server, 'bob'), 200, undefined)
    await assertStatus(t, server, '/sibling', await login(server, 'bob'), 403, insufficientScope('items'))
  })

  t.test('any-of at the context: every pair of alternatives', async (t) => {
    const server = await app(t, (app) => {
      app.register(async function either (child) {
        child.requireSecurity([{ OAuth2PasswordBearer: ['me'] }, { OAuth2PasswordBearer: ['items'] }])
        child.get('/either', ok)
      })
    })
    await assertStatus(t, server, '/either', await login(server, 'bob'), 200)
    await assertStatus(t, server, '/either', await login(server, 'johndoe', 'items'), 200)
    await assertStatus(t, server, '/either', (await server.oauth2.issueTokens({ id: 'bob' }, [])).access_token, 403, insufficientScope('me'))
  })

  t.test('bad arguments are programmer errors', async (t) => {
    const server = await app(t, () => {})
    for (const bad of [[], [{ OAuth2PasswordBearer: 'me' }], ['me'], null]) {
      t.throws(() => server.requireSecurity(bad as unknown as SecurityRequirement[]), {
        code: 'FST_OAUTH2_INVALID_OPTION',
        message: 'Invalid option requireSecurity(): takes a non-empty array of { schemeName: [scopes] } objects'
      })
    }
  })

  t.test('an unknown scope at the context fails at startup', async (t) => {
    const server = Fastify()
    t.teardown(() => server.close())
    await registerPlugin(server, seedUsers())
    server.register(async function admin (child) {
      child.requireSecurity({ OAuth2PasswordBearer: ['admin'] })
      child.get('/admin', ok)
    })
    await t.rejects(async () => await server.ready(), { code: 'FST_OAUTH2_UNKNOWN_SCOPE', message: 'Route GET /admin requires the undeclared scope "admin" of scheme "OAuth2PasswordBearer"' })
  })
})

t.test('a malformed schema.security fails at startup: FST_OAUTH2_INVALID_OPTION', async (t) => {
  const cases: Record<string, unknown> = {
    'an object instead of an array': { OAuth2PasswordBearer: ['me'] },
    'scopes not an array': [{ OAuth2PasswordBearer: 'me' }],
    'a scope that is not a string': [{ OAuth2PasswordBearer: [1] }],
    'a string entry': ['OAuth2PasswordBearer'],
    'a null entry': [null],
    'an array entry': [[]],
    'a string': 'OAuth2PasswordBearer'
  }
  for (const [name, security] of Object.entries(cases)) {
    t.test(name, async (t) => {
      const server = Fastify()
      t.teardown(() => server.close())
      await registerPlugin(server, seedUsers())
      server.register(async function routes (child) {
        child.post('/things', { schema: { security } as never }, ok)
      })
      await t.rejects(async () => await server.ready(), {
        code: 'FST_OAUTH2_INVALID_OPTION',
        message: 'Invalid option schema.security of POST /things: must be an array of { schemeName: [scopes] } objects'
      })
    })
  }
})

t.test('route-level onRequest hooks run after the security hook', async (t) => {
  const seen: string[] = []
  function record (name: string) {
    return async function recordHook (request: FastifyRequest, _reply: FastifyReply) {
      seen.push(`${name}:${request.auth === null ? 'anonymous' : (request.auth.principal as { id: string }).id}`)
    }
  }
  const server = await app(t, (app) => {
    app.addHook('onRequest', async function appHook (request) {
      seen.push(`app:${request.auth === null ? 'anonymous' : 'authenticated'}`)
    })
    app.get('/one', { onRequest: record('one'), schema: { security: [{ OAuth2PasswordBearer: [] }] } }, ok)
    app.get('/many', { onRequest: [record('first'), record('second')], schema: { security: [{ OAuth2PasswordBearer: [] }] } }, ok)
  })
  const token = await login(server, 'bob')
  seen.length = 0

  await assertStatus(t, server, '/one', undefined, 401, REALM_ONLY)
  await assertStatus(t, server, '/many', undefined, 401, REALM_ONLY)
  t.same(seen, ['app:anonymous', 'app:anonymous'], 'refused requests never reach the route\'s hooks')

  seen.length = 0
  await assertStatus(t, server, '/one', token, 200)
  await assertStatus(t, server, '/many', token, 200)
  t.same(seen, ['app:anonymous', 'one:bob', 'app:anonymous', 'first:bob', 'second:bob'], 'route hooks see request.auth')
})

t.test('HEAD routes are protected too', async (t) => {
  const server = await app(t, (app) => {
    app.get('/auto', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, ok)
    app.head('/explicit', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (_request, reply) => { await reply.send() })
    app.route({ method: ['GET', 'HEAD'], url: '/both', schema: { security: [{ OAuth2PasswordBearer: ['me'] }] }, handler: ok })
  })
  const token = await login(server, 'bob')
  for (const url of ['/auto', '/explicit', '/both']) {
    const anonymous = await server.inject({ method: 'HEAD', url })
    t.equal(anonymous.statusCode, 401, `${url} anonymous`)
    t.equal(anonymous.headers['www-authenticate'], REALM_ONLY)
    t.equal(anonymous.body, '')
    const authenticated = await server.inject({ method: 'HEAD', url, headers: { authorization: `Bearer ${token}` } })
    t.equal(authenticated.statusCode, 200, `${url} with a token`)
    t.equal(authenticated.headers['www-authenticate'], undefined)
  }
  const none = (await server.oauth2.issueTokens({ id: 'bob' }, [])).access_token
  const narrow = await server.inject({ method: 'HEAD', url: '/auto', headers: { authorization: `Bearer ${none}` } })
  t.equal(narrow.statusCode, 403)
  t.equal(narrow.headers['www-authenticate'], insufficientScope('me'))
})

t.test('every method of a multi-method route is protected', async (t) => {
  const server = await app(t, (app) => {
    app.route({ method: ['POST', 'PUT', 'DELETE'], url: '/things', schema: { security: [{ OAuth2PasswordBearer: ['items'] }] }, handler: ok })
  })
  const token = await login(server)
  for (const method of ['POST', 'PUT', 'DELETE'] as const) {
    const refused = await server.inject({ method, url: '/things' })
    t.equal(refused.statusCode, 401, method)
    t.equal(refused.headers['www-authenticate'], REALM_ONLY)
    const admitted = await server.inject({ method, url: '/things', headers: { authorization: `Bearer ${token}` } })
    t.equal(admitted.statusCode, 200, method)
  }
})

t.test('a requirement made by app.oauth2.requirement()', async (t) => {
  const server = await app(t, (app) => {
    app.get('/items', { schema: { security: app.oauth2.requirement('me', 'items') } }, ok)
  })
  await assertStatus(t, server, '/items', await login(server, 'bob'), 403, insufficientScope('me items'))
  await assertStatus(t, server, '/items', await login(server), 200)
})

t.test('a single-scheme route works with sync and async user stores, and a failing store is a 500, not a refusal', async (t) => {
  for (const mode of ['sync', 'async'] as const) {
    let failing = false
    const users = seedUsers()
    const findById = (id: string) => {
      if (failing) {
        if (mode === 'async') return Promise.reject(new Error('database down'))
        throw new Error('database down')
      }
      const user = userView(users.get(id))
      return mode === 'async' ? Promise.resolve(user) : user
    }
    const { app } = await buildApp({ users: { findByUsername: (name) => users.get(name) ?? null, findById } }, (app) => {
      app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => ({ id: request.auth?.claims?.sub }))
    })
    t.teardown(() => app.close())
    const token = await login(app)
    const ok = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.same([ok.statusCode, ok.json()], [200, { id: 'johndoe' }], `${mode}: admitted`)
    failing = true
    const down = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(down.statusCode, 500, `${mode}: a store failure is a server error`)
    t.equal(down.headers['www-authenticate'], undefined, `${mode}: and no challenge`)
    t.notMatch(down.body, token, `${mode}: the token is not echoed`)
  }
})

t.test('a user store answering with a thenable that is not a native promise (a query builder) works', async (t) => {
  const users = seedUsers()
  // Like a mongoose Query or a knex builder: a `then` method, not a Promise
  const thenable = <T>(value: T): PromiseLike<T> => ({ then: (onFulfilled, onRejected) => Promise.resolve(value).then(onFulfilled, onRejected) })
  const { app } = await buildApp({ users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => thenable(users.get(id) ?? null) as never } }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => {
      const user = await request.currentUser() as { id: string }
      return { id: user.id }
    })
  })
  t.teardown(() => app.close())
  const token = await login(app)
  const ok = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.same([ok.statusCode, ok.json()], [200, { id: 'johndoe' }])
  users.delete('johndoe')
  const gone = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(gone.statusCode, 401, 'a thenable resolving to null is an unknown user')
})
