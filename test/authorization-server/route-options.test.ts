import rateLimit from '@fastify/rate-limit'
import swagger from '@fastify/swagger'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import t, { type Test } from 'tap'
import oauth2Password, { type OAuth2PasswordOptions } from '../../lib/index.js'
import { PASSWORD, postForm, registerPlugin, seedUsers } from '../helpers/build-app.js'

// Issue 8 §2: the plugin's routes own only the plugin's errors. What another plugin or
// hook raises on the token or revoke route keeps its status and headers, and the
// routes take route options (config, hooks, documentation), so @fastify/rate-limit's
// per-route config works.

async function appWith (t: Test, before: (app: FastifyInstance) => Promise<void> | void, options: Partial<OAuth2PasswordOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  t.teardown(() => app.close())
  await before(app)
  await registerPlugin(app, seedUsers(), options)
  await app.ready()
  return app
}

const LOGIN = { username: 'johndoe', password: PASSWORD }

t.test('@fastify/rate-limit registered before the plugin: the third request is 429 with Retry-After', async (t) => {
  const app = await appWith(t, async (app) => { await app.register(rateLimit, { max: 2, timeWindow: '1 minute' }) })
  t.equal((await postForm(app, LOGIN)).statusCode, 200)
  t.equal((await postForm(app, LOGIN)).statusCode, 200)
  const limited = await postForm(app, LOGIN)
  t.equal(limited.statusCode, 429)
  t.equal(limited.headers['retry-after'], '60')
  t.equal(limited.headers['x-ratelimit-remaining'], '0')
  t.match(limited.json(), { statusCode: 429, error: 'Too Many Requests' }, 'the app\'s error shape, not invalid_request')
})

t.test('a 403 from an allow-list hook and a 503 from a maintenance hook keep their status and headers', async (t) => {
  const forbidden = await appWith(t, (app) => {
    app.addHook('onRequest', async function allowList () {
      throw Object.assign(new Error('Address not allowed'), { statusCode: 403 })
    })
  })
  const refused = await postForm(forbidden, LOGIN)
  t.equal(refused.statusCode, 403)
  t.match(refused.json(), { statusCode: 403, message: 'Address not allowed' })

  const maintenance = await appWith(t, (app) => {
    app.addHook('onRequest', async function maintenanceWindow () {
      throw Object.assign(new Error('Down for maintenance'), { statusCode: 503, headers: { 'retry-after': '120' } })
    })
  }, { refreshTokens: true })
  for (const url of ['/token', '/revoke']) {
    const unavailable = await postForm(maintenance, { ...LOGIN, token: 'x' }, {}, url)
    t.equal(unavailable.statusCode, 503, url)
    t.equal(unavailable.headers['retry-after'], '120', url)
  }
})

t.test('the app\'s own error handler gets the foreign errors of the plugin\'s routes', async (t) => {
  const app = await appWith(t, (app) => {
    app.setErrorHandler(function appErrors (error: { statusCode?: number }, _request, reply) {
      reply.code(error.statusCode ?? 500).send({ handledBy: 'app' })
    })
    app.addHook('preHandler', async function quota () { throw Object.assign(new Error('Quota'), { statusCode: 402 }) })
  })
  const response = await postForm(app, LOGIN)
  t.equal(response.statusCode, 402)
  t.same(response.json(), { handledBy: 'app' })
  const own = await app.inject({ method: 'POST', url: '/token', payload: {} })
  t.equal(own.statusCode, 400, 'the plugin\'s own errors stay its own')
  t.same(own.json(), { error: 'invalid_request', error_description: 'The request body must be application/x-www-form-urlencoded' })
})

/** The README recipe: per client address on the route's config, per username in a preHandler. */
async function recipeApp (t: Test): Promise<FastifyInstance> {
  return await appWith(t, async (app) => {
    await app.register(rateLimit, { global: false })
  }, {
    tokenRoute: {
      config: { rateLimit: { max: 4, timeWindow: '1 minute' } },
      preHandler: async function limitPerUsername (this: FastifyInstance, request: FastifyRequest, reply) {
        const limit = await perUsername(this)(request)
        if (!limit.isAllowed && limit.isExceeded) {
          reply.header('retry-after', limit.ttlInSeconds)
          throw Object.assign(new Error('Too many login attempts for this username'), { statusCode: 429 })
        }
      }
    }
  })
}

const limiters = new WeakMap<FastifyInstance, ReturnType<FastifyInstance['createRateLimit']>>()
function perUsername (app: FastifyInstance) {
  let limiter = limiters.get(app)
  if (limiter === undefined) {
    limiter = app.createRateLimit({
      max: 2,
      timeWindow: '1 minute',
      keyGenerator: (request) => `username:${(request.body as { username?: string } | undefined)?.username ?? ''}`
    })
    limiters.set(app, limiter)
  }
  return limiter
}

t.test('README recipe: rate limits per client address and per username, with the real @fastify/rate-limit', async (t) => {
  const app = await recipeApp(t)
  t.equal((await postForm(app, LOGIN)).statusCode, 200)
  t.equal((await postForm(app, { ...LOGIN, password: 'wrong' })).statusCode, 400)
  const perUser = await postForm(app, LOGIN)
  t.equal(perUser.statusCode, 429, 'the third attempt on one username')
  t.equal(perUser.headers['retry-after'], '60')
  t.equal((await postForm(app, { username: 'bob', password: PASSWORD })).statusCode, 200, 'another username still logs in')
  const perAddress = await postForm(app, { username: 'carol', password: PASSWORD })
  t.equal(perAddress.statusCode, 429, 'the fifth request from one address')
  t.equal(perAddress.headers['x-ratelimit-limit'], '4')
})

t.test('tokenRoute and revokeRoute: hooks, config and documentation fields', async (t) => {
  const seen: string[] = []
  const app = await appWith(t, async (app) => {
    await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'test', version: '1.0.0' } } })
  }, {
    refreshTokens: true,
    tokenRoute: {
      onRequest: [async function first (request) { seen.push(`token:${String(request.routeOptions.config.url)}`) }],
      config: { audit: 'login' } as never,
      schema: { tags: ['auth'], operationId: 'login', summary: 'Log in', description: 'Password grant' }
    },
    revokeRoute: { onRequest: async function revokeHook () { seen.push('revoke') }, schema: { tags: ['auth'], operationId: 'logout' } }
  })
  t.equal((await postForm(app, LOGIN)).statusCode, 200)
  t.equal((await postForm(app, { token: 'x' }, {}, '/revoke')).statusCode, 200)
  t.same(seen, ['token:/token', 'revoke'])
  const document = app.swagger() as { paths: Record<string, { post: Record<string, unknown> }> }
  t.match(document.paths['/token']?.post, { tags: ['auth'], operationId: 'login', summary: 'Log in', description: 'Password grant' })
  t.ok((document.paths['/token']?.post.responses as Record<string, unknown>)['200'], 'the plugin\'s answers stay documented')
  t.match(document.paths['/revoke']?.post, { tags: ['auth'], operationId: 'logout' })
})

t.test('tokenRoute/revokeRoute options are validated at register()', async (t) => {
  const cases: Array<[string, unknown]> = [
    ['tokenRoute', 'fast'],
    ['tokenRoute.onRequest', { onRequest: 'hook' }],
    ['tokenRoute.preHandler', { preHandler: [] }],
    ['tokenRoute.config', { config: 1 }],
    ['tokenRoute.schema', { schema: [] }],
    ['tokenRoute.schema.tags', { schema: { tags: 'auth' } }],
    ['tokenRoute.schema.operationId', { schema: { operationId: '' } }],
    ['tokenRoute.schema.body', { schema: { body: {} } }],
    ['tokenRoute.handler', { handler: () => {} }]
  ]
  for (const [option, value] of cases) {
    const app = Fastify()
    await t.rejects(async () => await app.register(oauth2Password, {
      secret: 'test-secret-that-is-at-least-32-bytes-long',
      users: { findByUsername: () => null, findById: () => null },
      tokenRoute: value as never
    }).ready(), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replaceAll('.', '\\.')}: `) }, option)
    await app.close()
  }
})
