import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import oauth2Password, { oauth2Password as namedExport, type OAuth2PasswordOptions } from '../lib/index.js'
import { accessTokensWith } from './helpers/access-tokens.js'
import { createAccountPolicy } from '../lib/passwords/account-policy.js'
import { oauth2PasswordBearer } from '../lib/schemes/oauth2-password-bearer.js'
import { buildApp, PASSWORD, postForm, SCOPES, SECRET, seedUsers, userView } from './helpers/build-app.js'

// app.oauth2: the plugin's API for code outside the token route, and where the plugin puts its route.

async function app (t: Test, options: Partial<OAuth2PasswordOptions> = {}): Promise<FastifyInstance> {
  const built = await buildApp(options)
  t.teardown(() => built.app.close())
  return built.app
}

function pluginOptions (): OAuth2PasswordOptions {
  const users = seedUsers()
  return {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) }
  }
}

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

t.test('exports: the default export and the named one are the same plugin', async (t) => {
  t.equal(namedExport, oauth2Password)
  t.type(oauth2Password, 'function')
})

t.test('app.oauth2.issueTokens()', async (t) => {
  t.test('issues a token response for declared scopes, usable on protected routes', async (t) => {
    const server = await app(t)
    const before = nowSeconds()
    const response = await server.oauth2.issueTokens({ id: 'bob' }, ['me'])
    t.same(Object.keys(response).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
    t.match(response, { token_type: 'bearer', expires_in: 1800, scope: 'me' })
    const claims = server.oauth2.verifyAccessToken(response.access_token)
    t.equal(claims.sub, 'bob')
    t.equal(claims.scope, 'me')
    t.ok(claims.exp >= before + 1800 && claims.exp <= nowSeconds() + 1800)
  })

  t.test('without scopes: the user\'s own scopes; with neither: all the account holds now', async (t) => {
    const server = await app(t)
    t.equal((await server.oauth2.issueTokens({ id: 'johndoe', scopes: ['me', 'items'] })).scope, 'me items')
    t.equal((await server.oauth2.issueTokens({ id: 'johndoe' })).scope, 'me items')
    t.equal((await server.oauth2.issueTokens({ id: 'johndoe', scopes: ['me', 'items'] }, [])).scope, '', 'an explicit [] wins')
  })

  t.test('an undeclared scope: FST_OAUTH2_INVALID_SCOPE, nothing issued', async (t) => {
    const server = await app(t)
    for (const [user, scopes] of [[{ id: 'bob' }, ['me', 'admin']], [{ id: 'bob', scopes: ['admin'] }, undefined]] as const) {
      await t.rejects(server.oauth2.issueTokens(user, scopes as never), {
        code: 'FST_OAUTH2_INVALID_SCOPE',
        statusCode: 400,
        error: 'invalid_scope',
        message: 'The requested scope is not declared by this server'
      })
    }
  })
})

t.test('app.oauth2.verifyAccessToken()', async (t) => {
  const server = await app(t)
  const login = await postForm(server, { username: 'johndoe', password: PASSWORD })
  const token = (login.json() as { access_token: string }).access_token
  t.match(server.oauth2.verifyAccessToken(token), { sub: 'johndoe', scope: 'me items', jti: String })
  t.ok(Object.isFrozen(server.oauth2.verifyAccessToken(token)), 'claims are read-only')

  const otherIssuer = accessTokensWith({ secret: 'another-secret-that-is-at-least-32-bytes', ttlSeconds: 60 })
  for (const bad of ['', 'not-a-jwt', otherIssuer.sign('johndoe', ['me']).token, `${token}x`]) {
    t.throws(() => server.oauth2.verifyAccessToken(bad), { code: 'FST_OAUTH2_INVALID_TOKEN', statusCode: 401, error: 'invalid_token' })
  }
})

t.test('app.oauth2.hashPassword() and verifyPassword() use the configured cost', async (t) => {
  const server = await app(t)
  const hash = await server.oauth2.hashPassword('correct horse')
  t.match(hash, /^\$2[ab]\$04\$/)
  t.equal(await server.oauth2.verifyPassword('correct horse', hash), true)
  t.equal(await server.oauth2.verifyPassword('wrong horse', hash), false)
  t.equal(await server.oauth2.verifyPassword('correct horse', null), false, 'null hash: the dummy hash, always false')
  await t.rejects(server.oauth2.hashPassword('x'.repeat(73)), { code: 'FST_OAUTH2_PASSWORD_TOO_LONG' })
})

t.test('app.oauth2.requirement(), schemeName and schemes', async (t) => {
  t.test('default scheme name', async (t) => {
    const server = await app(t)
    t.same(server.oauth2.requirement('me'), [{ OAuth2PasswordBearer: ['me'] }])
    t.same(server.oauth2.requirement('me', 'items'), [{ OAuth2PasswordBearer: ['me', 'items'] }])
    t.same(server.oauth2.requirement(), [{ OAuth2PasswordBearer: [] }])
    t.equal(server.oauth2.schemeName, 'OAuth2PasswordBearer')
    t.same([...server.oauth2.schemes.keys()], ['OAuth2PasswordBearer'])
  })

  t.test('a custom scheme name is used everywhere', async (t) => {
    const server = await buildApp({ schemeName: 'PasswordFlow' }, (app) => {
      app.get('/me', { schema: { security: app.oauth2.requirement('me') } }, async (request) => ({ id: (await request.currentUser()).id }))
    })
    t.teardown(() => server.app.close())
    t.same(server.app.oauth2.requirement('me'), [{ PasswordFlow: ['me'] }])
    t.equal(server.app.oauth2.schemeName, 'PasswordFlow')
    const token = (await server.app.oauth2.issueTokens({ id: 'bob' }, ['me'])).access_token
    const response = await server.app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.same(response.json(), { id: 'bob' })
    t.equal((await server.app.inject({ url: '/me' })).headers['www-authenticate'], 'Bearer realm="api"')
  })

  t.test('the password-flow scheme documents itself (OpenAPI 3 Security Scheme Object)', async (t) => {
    const server = await app(t)
    t.same(server.oauth2.schemes.get('OAuth2PasswordBearer')?.openapi(), {
      type: 'oauth2',
      flows: { password: { tokenUrl: '/token', scopes: SCOPES } }
    })
  })

  t.test('with a refresh URL, the flow lists it', async (t) => {
    const scheme = oauth2PasswordBearer({
      name: 'OAuth2PasswordBearer',
      realm: 'api',
      scopes: SCOPES,
      tokenUrl: () => '/token',
      refreshUrl: () => '/token',
      locations: { query: false, cookie: false },
      accessTokens: accessTokensWith({ secret: SECRET, ttlSeconds: 60 }),
      users: { findByUsername: () => null, findById: () => null },
      policy: createAccountPolicy({ findByUsername: () => null, findById: () => null }, new Set()),
      checks: []
    })
    t.same(scheme.openapi(), { type: 'oauth2', flows: { password: { tokenUrl: '/token', refreshUrl: '/token', scopes: SCOPES } } })
  })
})

t.test('the token route under a prefix', async (t) => {
  async function loginAt (t: Test, server: FastifyInstance, url: string) {
    const response = await postForm(server, { username: 'johndoe', password: PASSWORD }, {}, url)
    t.equal(response.statusCode, 200, `POST ${url}`)
    return (response.json() as { access_token: string }).access_token
  }

  async function assertTokenRoute (t: Test, server: FastifyInstance, tokenPath: string, protectedUrl: string) {
    const token = await loginAt(t, server, tokenPath)
    const me = await server.inject({ url: protectedUrl, headers: { authorization: `Bearer ${token}` } })
    t.same(me.json(), { id: 'johndoe' })
    t.equal((await postForm(server, { username: 'johndoe', password: PASSWORD })).statusCode, 404, 'nothing at /token')
  }

  async function me (request: { currentUser: () => Promise<{ id: string }> }) {
    return { id: (await request.currentUser()).id }
  }

  t.test('the register prefix option: prefix + tokenUrl, in the document too', async (t) => {
    const server = Fastify()
    t.teardown(() => server.close())
    await server.register(oauth2Password, { ...pluginOptions(), prefix: '/auth' })
    server.get('/me', { schema: { security: server.oauth2.requirement('me') } }, me)
    await server.ready()
    await assertTokenRoute(t, server, '/auth/token', '/me')
    t.equal((server.oauth2.schemes.get('OAuth2PasswordBearer')?.openapi() as { flows: { password: { tokenUrl: string } } }).flows.password.tokenUrl, '/auth/token')
  })

  t.test('an encapsulated context with a prefix', async (t) => {
    const server = Fastify()
    t.teardown(() => server.close())
    await server.register(async function api (child) {
      await child.register(oauth2Password, { ...pluginOptions(), tokenUrl: '/login' })
      child.get('/me', { schema: { security: child.oauth2.requirement('me') } }, me)
      t.equal((child.oauth2.schemes.get('OAuth2PasswordBearer')?.openapi() as { flows: { password: { tokenUrl: string } } }).flows.password.tokenUrl, '/api/login')
    }, { prefix: '/api' })
    await server.ready()
    await assertTokenRoute(t, server, '/api/login', '/api/me')
  })

  t.test('both, with stray slashes', async (t) => {
    const server = Fastify()
    t.teardown(() => server.close())
    await server.register(async function api (child) {
      await child.register(oauth2Password, { ...pluginOptions(), prefix: 'auth/' })
      child.get('/me', { schema: { security: child.oauth2.requirement('me') } }, me)
      t.equal((child.oauth2.schemes.get('OAuth2PasswordBearer')?.openapi() as { flows: { password: { tokenUrl: string } } }).flows.password.tokenUrl, '/api/auth/token')
    }, { prefix: '/api/' })
    await server.ready()
    await assertTokenRoute(t, server, '/api/auth/token', '/api/me')
  })
})

t.test('an explicit algorithms allow-list is passed to the access tokens', async (t) => {
  const { app } = await buildApp({ algorithms: ['HS256'] })
  t.teardown(() => app.close())
  const response = await app.inject({ method: 'POST', url: '/token', payload: 'username=johndoe&password=secret', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(response.statusCode, 200)
  const header = JSON.parse(Buffer.from((response.json() as { access_token: string }).access_token.split('.')[0] as string, 'base64url').toString()) as { alg: string }
  t.equal(header.alg, 'HS256')
})
