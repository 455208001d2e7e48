import { generateKeyPairSync } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import swagger, { type SwaggerOptions } from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import t, { type Test } from 'tap'
import oauth2Password, { type OAuth2PasswordOptions, type SchemeFactory, type ScopeName } from '../../lib/index.js'
import { swagger2SecurityScheme } from '../../lib/openapi/security-schemes.js'
import { SCOPES, SECRET, seedUsers, userView } from '../helpers/build-app.js'

// components.securitySchemes (securityDefinitions in Swagger 2.0) as @fastify/swagger
// emits them with the plugin: whatever the registration order, under a route prefix,
// behind servers, next to the app's own schemes and transforms.

interface Document {
  openapi?: string
  swagger?: string
  servers?: unknown
  components?: { schemas: Record<string, unknown>, securitySchemes?: Record<string, unknown> }
  securityDefinitions?: Record<string, unknown>
  paths: Record<string, Record<string, { tags?: string[], security?: unknown }>>
}

type Order = 'swagger first' | 'plugin first'

const INFO = { title: 'Schemes', version: '1.0.0' }

/** The password-flow scheme as documented for a token route at `tokenUrl`. */
function passwordScheme (tokenUrl: string) {
  return { type: 'oauth2', flows: { password: { tokenUrl, scopes: SCOPES } } }
}

/** A small API-key scheme, so the document holds more than the password flow. */
const apiKey: SchemeFactory = (name) => ({
  name,
  resolvesUser: false,
  scopes: null,
  openapi: () => ({ type: 'apiKey', name: 'x-api-key', in: 'header', description: 'Service key' }),
  async authenticate (request: FastifyRequest) {
    const key = request.headers['x-api-key']
    return key === undefined ? null : { scheme: name, principal: { service: key }, scopes: new Set<string>(), claims: null }
  },
  challenge: () => 'ApiKey realm="api"'
})

function pluginOptions (options: Partial<OAuth2PasswordOptions> = {}): OAuth2PasswordOptions {
  const users = seedUsers()
  return {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) },
    ...options
  }
}

async function me () {
  return { ok: true }
}

/** Registers the plugin and a protected `/me` in `instance`. */
async function pluginAndRoute (instance: FastifyInstance, options: Partial<OAuth2PasswordOptions>, scopes: ScopeName[] = ['me']): Promise<void> {
  await instance.register(oauth2Password, pluginOptions(options))
  instance.get('/me', { schema: { security: instance.oauth2.requirement(...scopes) } }, me)
}

interface Setup {
  order?: Order
  swagger?: SwaggerOptions
  plugin?: Partial<OAuth2PasswordOptions>
  /** Registers the plugin and `/me` in a child context with this prefix. */
  prefix?: string
  /** Scopes `/me` requires. Default `['me']`. */
  scopes?: ScopeName[]
}

/** Builds the app in the given order and returns it with its document (as JSON would carry it). */
async function documented (t: Test, setup: Setup = {}): Promise<{ app: FastifyInstance, document: Document }> {
  const app = Fastify()
  t.teardown(() => app.close())
  const swaggerOptions = setup.swagger ?? { openapi: { info: INFO } }
  if (setup.order !== 'plugin first') await app.register(swagger, swaggerOptions)
  if (setup.prefix === undefined) {
    await app.register(oauth2Password, pluginOptions(setup.plugin))
    if (setup.order === 'plugin first') await app.register(swagger, swaggerOptions)
    app.get('/me', { schema: { security: app.oauth2.requirement(...setup.scopes ?? ['me']) } }, me)
  } else {
    await app.register(async function api (child) {
      await pluginAndRoute(child, setup.plugin ?? {}, setup.scopes)
    }, { prefix: setup.prefix })
  }
  await app.ready()
  return { app, document: JSON.parse(JSON.stringify(app.swagger())) as Document }
}

async function assertValid (t: Test, document: Document): Promise<void> {
  const result = await new Validator().validate(structuredClone(document) as unknown as Record<string, unknown>)
  t.same(result, { valid: true }, `a valid ${document.openapi === undefined ? `Swagger ${document.swagger}` : `OpenAPI ${document.openapi}`} document`)
}

for (const version of ['3.0.3', '3.1.0']) {
  t.test(`OpenAPI ${version}`, async (t) => {
    const swaggerOptions = { openapi: { openapi: version, info: INFO } }

    for (const order of ['swagger first', 'plugin first'] as const) {
      t.test(`${order}: the password flow with every declared scope and its description`, async (t) => {
        const { document } = await documented(t, { order, swagger: swaggerOptions })
        t.same(document.components, { schemas: {}, securitySchemes: { OAuth2PasswordBearer: passwordScheme('/token') } })
        t.same(document.paths['/me']?.get?.security, [{ OAuth2PasswordBearer: ['me'] }])
        await assertValid(t, document)
      })
    }

    t.test('an app without declared scopes documents an empty scope map', async (t) => {
      const { document } = await documented(t, { swagger: swaggerOptions, plugin: { scopes: undefined }, scopes: [] })
      t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } } })
      await assertValid(t, document)
    })
  })
}

t.test('swagger first: the token operation is documented and no copy is added', async (t) => {
  const { app, document } = await documented(t)
  t.same(Object.keys(document.paths), ['/token', '/me'])
  t.same(Object.keys(document.paths['/token'] ?? {}), ['post'])
  t.equal(app.hasRoute({ method: 'POST', url: '/token#openapi' }), false)
})

t.test('plugin first: the document is the one of swagger first', async (t) => {
  const { document } = await documented(t, { order: 'plugin first' })
  const { document: swaggerFirst } = await documented(t)
  t.same(document, swaggerFirst)
  t.same(Object.keys(document.paths), ['/token', '/me'])

  t.test('revocation and JWKS operations too', async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const plugin = { secret: undefined, refreshTokens: true, keys: [{ kid: 'k1', algorithm: 'ES256' as const, privateKey, publicKey }] }
    const late = await documented(t, { order: 'plugin first', plugin })
    const early = await documented(t, { plugin })
    t.same(late.document, early.document)
    t.same(Object.keys(late.document.paths), ['/token', '/revoke', '/.well-known/jwks.json', '/me'])
  })

  t.test('the plugin\'s routes answer as before; the copies, behind a #, are never reached', async (t) => {
    const { app } = await documented(t, { order: 'plugin first' })
    t.equal(app.hasRoute({ method: 'POST', url: '/token#openapi' }), true)
    const form = { 'content-type': 'application/x-www-form-urlencoded' }
    for (const url of ['/token', '/token#openapi']) {
      // The router cuts the path at the #: the real endpoint, with its form parser and no-store headers
      const login = await app.inject({ method: 'POST', url, payload: 'username=johndoe&password=secret', headers: form })
      t.same([login.statusCode, login.headers['cache-control']], [200, 'no-store'], url)
    }
    t.equal((await app.inject({ method: 'POST', url: '/token%23openapi', payload: 'username=johndoe&password=secret', headers: form })).statusCode, 404)
    const head = await app.inject({ method: 'HEAD', url: '/token' })
    t.equal(head.statusCode, 404)
    const get = await app.inject({ method: 'GET', url: '/token' })
    t.same([get.statusCode, get.headers.allow], [405, 'POST'])
  })
})

t.test('plugin first, under a prefix: the operations at their prefixed paths', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  let api: FastifyInstance | undefined
  await app.register(async function prefixed (child) {
    await child.register(oauth2Password, pluginOptions())
    await child.register(swagger, { openapi: { info: INFO } })
    child.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, me)
    api = child
  }, { prefix: '/api' })
  await app.ready()
  const document = JSON.parse(JSON.stringify(api?.swagger())) as Document
  t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/api/token') })
  t.same(Object.keys(document.paths), ['/api/token', '/api/me'])
  t.equal(app.hasRoute({ method: 'POST', url: '/api/token#openapi' }), true)
  const login = await app.inject({ method: 'POST', url: '/api/token', payload: 'username=johndoe&password=secret', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(login.statusCode, 200)
})

t.test('plugin first, with no route after @fastify/swagger: nothing to carry, an empty document', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(oauth2Password, pluginOptions())
  await app.register(swagger, { openapi: { info: INFO } })
  await app.ready()
  t.same(JSON.parse(JSON.stringify(app.swagger())), { openapi: '3.0.3', info: INFO, components: { schemas: {} }, paths: {} })
})

t.test('without @fastify/swagger: no copies either', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await pluginAndRoute(app, {})
  await app.ready()
  t.equal(app.hasRoute({ method: 'POST', url: '/token#openapi' }), false)
})

t.test('tokenUrl is the URL the browser must call', async (t) => {
  t.test('registered under a prefix: the prefixed path', async (t) => {
    const { document } = await documented(t, { prefix: '/api' })
    t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/api/token') })
    t.same(Object.keys(document.paths), ['/api/token', '/api/me'])
    await assertValid(t, document)
  })

  t.test('with the plugin\'s own tokenUrl and schemeName', async (t) => {
    const { document } = await documented(t, { prefix: '/api', plugin: { tokenUrl: '/oauth/token', schemeName: 'Password' } })
    t.same(document.components?.securitySchemes, { Password: passwordScheme('/api/oauth/token') })
    t.same(Object.keys(document.paths), ['/api/oauth/token', '/api/me'])
    t.same(document.paths['/api/me']?.get?.security, [{ Password: ['me'] }])
  })

  for (const url of ['/api', 'http://127.0.0.1:3000/api']) {
    t.test(`prefix /api, servers [${url}]: paths lose the prefix (stripBasePath), tokenUrl keeps it`, async (t) => {
      const { document } = await documented(t, { prefix: '/api', swagger: { openapi: { info: INFO, servers: [{ url }] } } })
      t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/api/token') })
      t.same(Object.keys(document.paths), ['/token', '/me'])
      await assertValid(t, document)
    })
  }

  t.test('prefix /api, stripBasePath off: paths and tokenUrl keep the prefix', async (t) => {
    const { document } = await documented(t, { prefix: '/api', swagger: { openapi: { info: INFO, servers: [{ url: 'http://127.0.0.1:3000' }] }, stripBasePath: false } })
    t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/api/token') })
    t.same(Object.keys(document.paths), ['/api/token', '/api/me'])
  })

  t.test('a server path that is not the prefix mounts the app (a proxy): the token request goes below it', async (t) => {
    const { document } = await documented(t, { swagger: { openapi: { info: INFO, servers: [{ url: 'https://example.com/gateway' }, { url: '/other' }] } } })
    t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/gateway/token') })
    t.same(Object.keys(document.paths), ['/token', '/me'], 'Swagger UI calls https://example.com/gateway/me')
    await assertValid(t, document)
  })

  t.test('every path URL of every OAuth2 flow goes below the mount; absolute URLs stay', async (t) => {
    const partner: SchemeFactory = (name) => ({
      name,
      resolvesUser: false,
      scopes: new Set(['read']),
      openapi: () => ({
        type: 'oauth2',
        flows: {
          authorizationCode: { authorizationUrl: '/authorize', tokenUrl: 'https://idp.example/token', refreshUrl: '/refresh', scopes: { read: 'Read' } },
          implicit: { authorizationUrl: 'https://idp.example/authorize', refreshUrl: undefined, scopes: { read: 'Read' } }
        }
      }),
      authenticate: async () => null,
      challenge: () => 'Bearer realm="partner"'
    })
    const servers = [{ url: '/gateway' }]
    const { document } = await documented(t, { swagger: { openapi: { info: INFO, servers } }, plugin: { securitySchemes: { Partner: partner } } })
    t.same(document.components?.securitySchemes, {
      OAuth2PasswordBearer: passwordScheme('/gateway/token'),
      Partner: {
        type: 'oauth2',
        flows: {
          authorizationCode: { authorizationUrl: '/gateway/authorize', tokenUrl: 'https://idp.example/token', refreshUrl: '/gateway/refresh', scopes: { read: 'Read' } },
          implicit: { authorizationUrl: 'https://idp.example/authorize', scopes: { read: 'Read' } }
        }
      }
    })
    await assertValid(t, document)
  })

  t.test('server variables are resolved with their defaults, as @fastify/swagger does', async (t) => {
    const servers = [{ url: 'https://{host}/{base}', variables: { host: { default: 'example.com' }, base: { default: 'v1', enum: ['v1', 'v2'] } } }]
    const { document } = await documented(t, { swagger: { openapi: { info: INFO, servers } } })
    t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/v1/token') })
    await assertValid(t, document)
  })

  for (const url of ['/', 'https://example.com', 'https://example.com/?x#y']) {
    t.test(`server ${JSON.stringify(url)}: no base path, tokenUrl as routed`, async (t) => {
      const { document } = await documented(t, { swagger: { openapi: { info: INFO, servers: [{ url }] } } })
      t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/token') })
    })
  }

  // @fastify/swagger itself cannot strip a base path from these: only with stripBasePath off
  for (const url of ['api/v1', '']) {
    t.test(`server ${JSON.stringify(url)} (relative to the document): tokenUrl as routed`, async (t) => {
      const { document } = await documented(t, { swagger: { openapi: { info: INFO, servers: [{ url }] }, stripBasePath: false } })
      t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/token') })
    })
  }
})

t.test('schemes of the @fastify/swagger options: others kept, a same-named one replaced, the options left alone', async (t) => {
  const securitySchemes = {
    Legacy: { type: 'http', scheme: 'basic' },
    OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/stale', scopes: {} } } }
  }
  const swaggerOptions = { openapi: { info: INFO, components: { securitySchemes } } }
  const before = structuredClone(swaggerOptions.openapi)
  const { document } = await documented(t, { swagger: swaggerOptions as SwaggerOptions, plugin: { securitySchemes: { ApiKey: apiKey } } })
  t.same(document.components?.securitySchemes, {
    Legacy: { type: 'http', scheme: 'basic' },
    OAuth2PasswordBearer: passwordScheme('/token'),
    ApiKey: { type: 'apiKey', name: 'x-api-key', in: 'header', description: 'Service key' }
  })
  t.same(swaggerOptions.openapi, before, 'the options object is not modified')
  await assertValid(t, document)
})

t.test('a global transform of @fastify/swagger', async (t) => {
  const seen: string[] = []
  const { document } = await documented(t, {
    swagger: {
      openapi: { info: INFO },
      transform ({ schema, url }) {
        seen.push(url)
        return { schema: { ...schema, tags: ['app'] }, url }
      }
    }
  })

  t.test('applies to the app\'s routes, which keep their requirement', async (t) => {
    t.same(document.paths['/me']?.get?.tags, ['app'])
    t.same(document.paths['/me']?.get?.security, [{ OAuth2PasswordBearer: ['me'] }])
  })

  t.test('not to the token route, which documents itself (route-level swaggerTransform)', async (t) => {
    t.same(seen, ['/me'])
    t.same(document.paths['/token']?.post?.tags, ['OAuth2'], 'its own tag, not the global transform\'s')
  })

  t.test('the schemes are there', async (t) => {
    t.same(document.components?.securitySchemes, { OAuth2PasswordBearer: passwordScheme('/token') })
    await assertValid(t, document)
  })
})

t.test('Swagger 2.0 (@fastify/swagger without `openapi`)', async (t) => {
  for (const order of ['swagger first', 'plugin first'] as const) {
    t.test(`${order}: securityDefinitions, and no crash`, async (t) => {
      const { document } = await documented(t, { order, swagger: { swagger: { info: INFO } }, plugin: { securitySchemes: { ApiKey: apiKey } } })
      t.same(document.securityDefinitions, {
        OAuth2PasswordBearer: { type: 'oauth2', flow: 'password', tokenUrl: '/token', scopes: SCOPES },
        ApiKey: { type: 'apiKey', description: 'Service key', name: 'x-api-key', in: 'header' }
      })
      t.same(document.paths['/me']?.get?.security, [{ OAuth2PasswordBearer: ['me'] }])
    })
  }

  t.test('with schemes and host: an absolute tokenUrl, under the basePath when it mounts the app; a valid document', async (t) => {
    const { document } = await documented(t, { swagger: { swagger: { info: INFO, host: 'example.com', schemes: ['https'], basePath: '/gateway' } } })
    t.same(document.securityDefinitions, { OAuth2PasswordBearer: { type: 'oauth2', flow: 'password', tokenUrl: 'https://example.com/gateway/token', scopes: SCOPES } })
    await assertValid(t, document)
  })

  t.test('a basePath that is the prefix is not repeated', async (t) => {
    const { document } = await documented(t, { prefix: '/api', swagger: { swagger: { info: INFO, host: 'example.com', schemes: ['https'], basePath: '/api' } } })
    t.same(document.securityDefinitions, { OAuth2PasswordBearer: { type: 'oauth2', flow: 'password', tokenUrl: 'https://example.com/api/token', scopes: SCOPES } })
    t.same(Object.keys(document.paths), ['/token', '/me'])
    await assertValid(t, document)
  })

  t.test('the definitions of the options are kept, and the options left alone', async (t) => {
    const swaggerOptions = { swagger: { info: INFO, securityDefinitions: { Legacy: { type: 'basic' } } } }
    const before = structuredClone(swaggerOptions.swagger)
    const { document } = await documented(t, { swagger: swaggerOptions as SwaggerOptions })
    t.same(document.securityDefinitions, {
      Legacy: { type: 'basic' },
      OAuth2PasswordBearer: { type: 'oauth2', flow: 'password', tokenUrl: '/token', scopes: SCOPES }
    })
    t.same(swaggerOptions.swagger, before)
  })
})

t.test('swagger2SecurityScheme: the closest Swagger 2.0 form of each OpenAPI 3 scheme', async (t) => {
  const scopes = { read: 'Read' }
  t.same(swagger2SecurityScheme({ type: 'oauth2', description: 'Login', flows: { password: { tokenUrl: '/token', scopes } } }, 'https://example.com'),
    { type: 'oauth2', description: 'Login', flow: 'password', tokenUrl: 'https://example.com/token', scopes })
  t.same(swagger2SecurityScheme({ type: 'oauth2', flows: { clientCredentials: { tokenUrl: 'https://idp.example/token', scopes } } }),
    { type: 'oauth2', flow: 'application', tokenUrl: 'https://idp.example/token', scopes })
  t.same(swagger2SecurityScheme({ type: 'oauth2', flows: { authorizationCode: { authorizationUrl: '/authorize', tokenUrl: '/token', scopes } } }),
    { type: 'oauth2', flow: 'accessCode', authorizationUrl: '/authorize', tokenUrl: '/token', scopes })
  t.same(swagger2SecurityScheme({ type: 'oauth2', flows: { implicit: { authorizationUrl: 'https://idp.example/authorize', scopes } } }),
    { type: 'oauth2', flow: 'implicit', authorizationUrl: 'https://idp.example/authorize', scopes })
  t.same(swagger2SecurityScheme({ type: 'apiKey', name: 'key', in: 'query' }), { type: 'apiKey', name: 'key', in: 'query' })
  t.same(swagger2SecurityScheme({ type: 'apiKey', name: 'session', in: 'cookie' }),
    { type: 'apiKey', description: 'The `session` cookie (Swagger 2.0 cannot describe cookies)', name: 'Cookie', in: 'header' })
  t.same(swagger2SecurityScheme({ type: 'apiKey', name: 'session', in: 'cookie', description: 'Session' }),
    { type: 'apiKey', description: 'Session', name: 'Cookie', in: 'header' })
  t.same(swagger2SecurityScheme({ type: 'http', scheme: 'Basic', description: 'Users' }), { type: 'basic', description: 'Users' })
  t.same(swagger2SecurityScheme({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    { type: 'apiKey', description: 'HTTP `bearer` authentication: `Authorization: bearer …`', name: 'Authorization', in: 'header' })
  t.same(swagger2SecurityScheme({ type: 'http', scheme: 'digest', description: 'Digest' }),
    { type: 'apiKey', description: 'Digest', name: 'Authorization', in: 'header' })
  t.same(swagger2SecurityScheme({ type: 'openIdConnect', openIdConnectUrl: 'https://idp.example/.well-known/openid-configuration' }),
    { type: 'apiKey', description: 'OpenID Connect (https://idp.example/.well-known/openid-configuration): `Authorization: Bearer <token>`', name: 'Authorization', in: 'header' })
  t.same(swagger2SecurityScheme({ type: 'openIdConnect', openIdConnectUrl: 'https://idp.example/x', description: 'SSO' }),
    { type: 'apiKey', description: 'SSO', name: 'Authorization', in: 'header' })
})
