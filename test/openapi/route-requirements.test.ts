import Fastify, { type FastifyInstance } from 'fastify'
import swagger from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import t, { type Test } from 'tap'
import oauth2Password, { type OAuth2PasswordOptions, type SecurityRequirement } from '../../lib/index.js'
import { login, SCOPES, SECRET, seedUsers, userView } from '../helpers/build-app.js'
import { fakeApiKey } from '../helpers/fake-api-key.js'

// Each route's operation as the document shows it: the requirement the plugin enforces
// (own, default, or combined with its contexts'), and the refusals it can answer.

interface Operation {
  security?: unknown
  responses: Record<string, unknown>
}

interface Document {
  openapi: string
  security?: unknown
  paths: Record<string, Record<string, Operation>>
}

const INFO = { title: 'Requirements', version: '1.0.0' }

/** An API-key scheme (`x-api-key: good`), so requirements can combine schemes. */
const apiKey = fakeApiKey(() => 'ApiKey realm="api"')

const OK_SCHEMA = { type: 'object', properties: { ok: { type: 'boolean' } } }
const OK_RESPONSE = { description: 'Default Response', content: { 'application/json': { schema: OK_SCHEMA } } }

const ERROR_SCHEMA = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer', description: 'The HTTP status code' },
    code: { type: 'string', description: 'Stable error code, such as `FST_OAUTH2_INVALID_TOKEN`' },
    error: { type: 'string', description: 'The HTTP reason phrase' },
    message: { type: 'string', description: 'What went wrong' }
  },
  additionalProperties: true
}

function refusal (description: string) {
  return {
    description,
    headers: {
      'WWW-Authenticate': {
        schema: { type: 'string' },
        description: 'One challenge per security scheme the operation accepts (RFC 7235 §4.1, RFC 6750 §3)'
      }
    },
    content: { 'application/json': { schema: { description, ...ERROR_SCHEMA } } }
  }
}

const REFUSED_400 = refusal('Malformed request or credentials (RFC 6750 §3.1 `invalid_request`)')
const REFUSED_401 = refusal('Missing or invalid credentials (RFC 6750 §3.1 `invalid_token`)')
const REFUSED_403 = refusal('The credentials lack a required scope (RFC 6750 §3.1 `insufficient_scope`)')

/** The operation of a protected route answering `{ ok }`. */
function protectedOperation (security: unknown, withScopes: boolean): Operation {
  return {
    security,
    responses: { 200: OK_RESPONSE, 400: REFUSED_400, 401: REFUSED_401, ...(withScopes ? { 403: REFUSED_403 } : {}) }
  }
}

const PUBLIC = { responses: { 200: OK_RESPONSE } }

async function ok () {
  return { ok: true }
}

function pluginOptions (options: Partial<OAuth2PasswordOptions>): OAuth2PasswordOptions {
  const users = seedUsers()
  return {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    securitySchemes: { ApiKey: apiKey },
    users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) },
    ...options
  }
}

/** Swagger, the plugin, then `routes`; returns the app and its document as JSON carries it. */
async function documented (
  t: Test,
  routes: (app: FastifyInstance) => void | Promise<void>,
  options: Partial<OAuth2PasswordOptions> = {},
  openapi = '3.0.3'
): Promise<{ app: FastifyInstance, document: Document }> {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { openapi, info: INFO } })
  await app.register(oauth2Password, pluginOptions(options))
  await routes(app)
  await app.ready()
  const document = JSON.parse(JSON.stringify(app.swagger())) as Document
  t.same(await new Validator().validate(structuredClone(document) as unknown as Record<string, unknown>), { valid: true }, `a valid OpenAPI ${openapi} document`)
  return { app, document }
}

function operation (document: Document, path: string, method = 'get'): Operation | undefined {
  return document.paths[path]?.[method]
}

const schema = (security?: SecurityRequirement[]) => ({ schema: { ...(security === undefined ? {} : { security }), response: { 200: OK_SCHEMA } } })

for (const version of ['3.0.3', '3.1.0']) {
  t.test(`OpenAPI ${version}: a route's own requirement, as declared`, async (t) => {
    const { app, document } = await documented(t, (app) => {
      app.get('/scoped', schema([{ OAuth2PasswordBearer: ['me', 'items'] }]), ok)
      app.get('/helper', schema(app.oauth2.requirement('me')), ok)
      app.get('/any-token', schema(app.oauth2.requirement()), ok)
      app.get('/any-of', schema([{ OAuth2PasswordBearer: ['items'] }, { ApiKey: [] }]), ok)
      app.get('/all-of', schema([{ OAuth2PasswordBearer: ['me'], ApiKey: [] }]), ok)
      app.get('/optional', schema([{ OAuth2PasswordBearer: ['me'] }, {}]), ok)
      app.get('/anonymous', schema([{}]), ok)
      app.get('/public', schema(), ok)
      app.get('/opt-out', schema([]), ok)
    }, {}, version)

    t.test('per-route scopes', async (t) => {
      t.same(operation(document, '/scoped'), protectedOperation([{ OAuth2PasswordBearer: ['me', 'items'] }], true))
    })

    t.test('app.oauth2.requirement() writes the same OpenAPI requirement', async (t) => {
      t.same(operation(document, '/helper'), protectedOperation([{ OAuth2PasswordBearer: ['me'] }], true))
      t.same(operation(document, '/any-token'), protectedOperation([{ OAuth2PasswordBearer: [] }], false), 'no scope, no 403')
    })

    t.test('an array is any of', async (t) => {
      t.same(operation(document, '/any-of'), protectedOperation([{ OAuth2PasswordBearer: ['items'] }, { ApiKey: [] }], true))
    })

    t.test('an object naming several schemes is all of', async (t) => {
      t.same(operation(document, '/all-of'), protectedOperation([{ OAuth2PasswordBearer: ['me'], ApiKey: [] }], true))
    })

    t.test('{} makes credentials optional: bad ones are still refused, so the refusals stay documented', async (t) => {
      t.same(operation(document, '/optional'), protectedOperation([{ OAuth2PasswordBearer: ['me'] }, {}], true))
    })

    t.test('[{}] alone admits everyone: nothing to refuse', async (t) => {
      t.same(operation(document, '/anonymous'), { security: [{}], responses: { 200: OK_RESPONSE } })
    })

    t.test('no requirement: a public operation; security: [] says so explicitly', async (t) => {
      t.same(operation(document, '/public'), PUBLIC)
      t.same(operation(document, '/opt-out'), { security: [], responses: { 200: OK_RESPONSE } })
    })

    t.test('no top-level security: every operation states its own', async (t) => {
      t.equal(document.security, undefined)
    })

    t.test('the plugin enforces what each operation documents', async (t) => {
      const full = await login(app, 'johndoe')
      const meOnly = await login(app, 'bob')
      const withoutScopes = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
      const credentials: Record<string, Record<string, string>> = {
        anonymous: {},
        malformed: { authorization: 'Bearer a b' },
        'bad key': { 'x-api-key': 'bad' },
        'token without scopes': { authorization: `Bearer ${withoutScopes}` },
        'token with me': { authorization: `Bearer ${meOnly}` },
        'token with me items': { authorization: `Bearer ${full}` },
        'token with me items and key': { authorization: `Bearer ${full}`, 'x-api-key': 'good' }
      }
      for (const [path, item] of Object.entries(document.paths)) {
        const documentedOperation = item.get
        if (documentedOperation === undefined) continue
        for (const [name, headers] of Object.entries(credentials)) {
          const response = await app.inject({ url: path, headers })
          t.ok(String(response.statusCode) in documentedOperation.responses, `${path}, ${name}: ${response.statusCode} is documented`)
          const challenged = response.headers['www-authenticate'] !== undefined
          t.equal(challenged, response.statusCode !== 200, `${path}, ${name}: a challenge exactly on refusals`)
        }
        const anonymous = await app.inject({ url: path })
        const admitsAnonymous = documentedOperation.security === undefined || (documentedOperation.security as object[]).length === 0 ||
          (documentedOperation.security as object[]).some((alternative) => Object.keys(alternative).length === 0)
        t.equal(anonymous.statusCode, admitsAnonymous ? 200 : 401, `${path}: anonymous ${admitsAnonymous ? 'admitted' : 'refused'} as documented`)
      }
      t.equal((await app.inject({ url: '/scoped', headers: credentials['token with me'] })).statusCode, 403)
      t.equal((await app.inject({ url: '/all-of', headers: credentials['token with me items and key'] })).statusCode, 200)
    })
  })
}

t.test('the plugin-level default requirement', async (t) => {
  const { document } = await documented(t, (app) => {
    app.get('/undeclared', schema(), ok)
    app.get('/own', schema([{ ApiKey: [] }]), ok)
    app.get('/opt-out', schema([]), ok)
    app.get('/hidden', { schema: { hide: true } }, ok)
    app.register(async function nested (child) {
      child.get('/nested', schema(), ok)
    })
  }, { security: [{ OAuth2PasswordBearer: ['me'] }] })

  t.test('is written into every operation that declares nothing, nested contexts included', async (t) => {
    t.same(operation(document, '/undeclared'), protectedOperation([{ OAuth2PasswordBearer: ['me'] }], true))
    t.same(operation(document, '/nested'), protectedOperation([{ OAuth2PasswordBearer: ['me'] }], true))
  })

  t.test('a route\'s own requirement replaces it', async (t) => {
    t.same(operation(document, '/own'), protectedOperation([{ ApiKey: [] }], false))
  })

  t.test('security: [] opts out, and the document says so', async (t) => {
    t.same(operation(document, '/opt-out'), { security: [], responses: { 200: OK_RESPONSE } })
    t.same(operation(document, '/token', 'post')?.security, [], 'the token endpoint is public')
  })

  t.test('is not emitted as top-level security, hidden routes stay hidden', async (t) => {
    t.equal(document.security, undefined)
    t.same(Object.keys(document.paths), ['/token', '/undeclared', '/own', '/opt-out', '/nested'])
  })
})

t.test('a route registered before the plugin is neither enforced nor documented as protected', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(swagger, { openapi: { info: INFO } })
  app.get('/early', schema(), ok)
  await app.register(oauth2Password, pluginOptions({ security: [{ OAuth2PasswordBearer: [] }] }))
  await app.ready()
  const document = JSON.parse(JSON.stringify(app.swagger())) as Document
  t.same(document.paths['/early']?.get, PUBLIC)
  t.equal((await app.inject('/early')).statusCode, 200)
})

t.test('app.requireSecurity(): scopes of the encapsulating contexts combine with the route\'s own', async (t) => {
  const { app, document } = await documented(t, (app) => {
    app.register(async function users (child) {
      child.requireSecurity({ OAuth2PasswordBearer: ['me'] })
      child.get('/users/items', schema([{ OAuth2PasswordBearer: ['items'] }]), ok)
      child.get('/users/undeclared', schema(), ok)
      child.get('/users/opt-out', schema([]), ok)
      child.get('/users/any-of', schema([{ OAuth2PasswordBearer: ['items'] }, { ApiKey: [] }]), ok)
      child.get('/users/optional', schema([{ OAuth2PasswordBearer: ['items'] }, {}]), ok)
      child.register(async function services (grandchild) {
        grandchild.requireSecurity([{ ApiKey: [] }])
        grandchild.get('/users/services', schema([{ OAuth2PasswordBearer: ['items'] }]), ok)
      })
    })
    app.get('/sibling', schema(), ok)
  })

  t.test('parent me + route items: both, in one alternative', async (t) => {
    t.same(operation(document, '/users/items'), protectedOperation([{ OAuth2PasswordBearer: ['me', 'items'] }], true))
  })

  t.test('a route that declares nothing, or security: [], has the context\'s requirement', async (t) => {
    t.same(operation(document, '/users/undeclared'), protectedOperation([{ OAuth2PasswordBearer: ['me'] }], true))
    t.same(operation(document, '/users/opt-out'), protectedOperation([{ OAuth2PasswordBearer: ['me'] }], true))
  })

  t.test('any of: the context joins every alternative', async (t) => {
    t.same(operation(document, '/users/any-of'), protectedOperation([{ OAuth2PasswordBearer: ['me', 'items'] }, { OAuth2PasswordBearer: ['me'], ApiKey: [] }], true))
  })

  t.test('{}: the context makes the optional alternative required', async (t) => {
    t.same(operation(document, '/users/optional'), protectedOperation([{ OAuth2PasswordBearer: ['me', 'items'] }, { OAuth2PasswordBearer: ['me'] }], true))
  })

  t.test('nested contexts accumulate', async (t) => {
    t.same(operation(document, '/users/services'), protectedOperation([{ OAuth2PasswordBearer: ['me', 'items'], ApiKey: [] }], true))
  })

  t.test('siblings are untouched', async (t) => {
    t.same(operation(document, '/sibling'), PUBLIC)
  })

  t.test('enforced as documented', async (t) => {
    const bob = await login(app, 'bob')
    const john = await login(app, 'johndoe')
    t.equal((await app.inject({ url: '/users/items', headers: { authorization: `Bearer ${bob}` } })).statusCode, 403)
    t.equal((await app.inject({ url: '/users/items', headers: { authorization: `Bearer ${john}` } })).statusCode, 200)
    t.equal((await app.inject({ url: '/users/optional' })).statusCode, 401)
    t.equal((await app.inject({ url: '/users/services', headers: { authorization: `Bearer ${john}` } })).statusCode, 401)
    t.equal((await app.inject({ url: '/users/services', headers: { authorization: `Bearer ${john}`, 'x-api-key': 'good' } })).statusCode, 200)
  })
})

t.test('the context combines with the plugin default too', async (t) => {
  const { document } = await documented(t, (app) => {
    app.register(async function items (child) {
      child.requireSecurity({ OAuth2PasswordBearer: ['items'] })
      child.get('/items', schema(), ok)
    })
  }, { security: [{ OAuth2PasswordBearer: ['me'] }] })
  t.same(operation(document, '/items'), protectedOperation([{ OAuth2PasswordBearer: ['items', 'me'] }], true))
})

t.test('documented refusals', async (t) => {
  t.test('a status the route documents itself is kept', async (t) => {
    const own401 = { description: 'Log in first', type: 'object', properties: { detail: { type: 'string' } } }
    const { document } = await documented(t, (app) => {
      app.get('/own', { schema: { security: app.oauth2.requirement('me'), response: { 200: OK_SCHEMA, 401: own401 } } }, ok)
    })
    t.same(operation(document, '/own')?.responses, {
      200: OK_RESPONSE,
      401: { description: 'Log in first', content: { 'application/json': { schema: own401 } } },
      400: REFUSED_400,
      403: REFUSED_403
    })
  })

  t.test('a route without a response schema keeps @fastify/swagger\'s default 200 next to the refusals', async (t) => {
    const { app, document } = await documented(t, (app) => {
      app.get('/bare', { schema: { security: app.oauth2.requirement() } }, ok)
      app.get('/text', { schema: { security: app.oauth2.requirement() } }, async () => 'plain text')
      app.get('/public', ok)
    })
    const DEFAULT_200 = { description: 'Default Response', content: { 'application/json': { schema: { description: 'Default Response' } } } }
    t.same(operation(document, '/bare'), { security: [{ OAuth2PasswordBearer: [] }], responses: { 200: DEFAULT_200, 400: REFUSED_400, 401: REFUSED_401 } })
    t.same(operation(document, '/public'), { responses: { 200: { description: 'Default Response' } } }, 'what @fastify/swagger writes for a public route')

    t.test('and answers as before: any JSON, and text as text', async (t) => {
      const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
      const headers = { authorization: `Bearer ${token}` }
      const json = await app.inject({ url: '/bare', headers })
      t.same([json.statusCode, json.headers['content-type'], json.json()], [200, 'application/json; charset=utf-8', { ok: true }])
      const text = await app.inject({ url: '/text', headers })
      t.same([text.statusCode, text.headers['content-type'], text.body], [200, 'text/plain; charset=utf-8', 'plain text'])
    })
  })

  t.test('the documented error schema never breaks an app\'s own error bodies', async (t) => {
    const { app } = await documented(t, (app) => {
      app.setErrorHandler(function fastapiStyle (error: Error & { statusCode?: number }, _request, reply) {
        reply.code(error.statusCode ?? 500).send({ detail: error.message })
      })
      app.get('/me', schema(app.oauth2.requirement('me')), ok)
    })
    const missing = await app.inject('/me')
    t.equal(missing.statusCode, 401)
    t.equal(missing.headers['www-authenticate'], 'Bearer realm="api"')
    t.same(missing.json(), { detail: 'Not authenticated' })
    const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    const forbidden = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    t.equal(forbidden.statusCode, 403)
    t.same(forbidden.json(), { detail: 'Not enough permissions' })
  })

  t.test('the default error bodies match the documented schema', async (t) => {
    const { app } = await documented(t, (app) => {
      app.get('/me', schema(app.oauth2.requirement('me')), ok)
    })
    const token = (await app.oauth2.issueTokens({ id: 'bob' }, [])).access_token
    const answers = [
      await app.inject({ url: '/me', headers: { authorization: 'Bearer a b' } }),
      await app.inject('/me'),
      await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    ]
    t.same(answers.map((answer) => answer.statusCode), [400, 401, 403])
    for (const answer of answers) t.same(Object.keys(answer.json()).sort(), ['code', 'error', 'message', 'statusCode'])
  })
})

t.test('startup errors: a requirement naming an unknown scheme or scope never boots', async (t) => {
  async function bootError (t: Test, routes: (app: FastifyInstance) => void, options: Partial<OAuth2PasswordOptions> = {}) {
    const app = Fastify()
    t.teardown(() => app.close())
    await app.register(swagger, { openapi: { info: INFO } })
    // Not awaited: a bad default requirement rejects the registration itself, seen by ready()
    app.register(oauth2Password, pluginOptions(options))
    app.register(async function routesPlugin (child) {
      routes(child)
    })
    return await app.ready().then(() => null, (error: Error & { code?: string }) => ({ code: error.code, message: error.message }))
  }

  t.test('an unknown scheme in schema.security', async (t) => {
    t.same(await bootError(t, (app) => app.get('/x', schema([{ OAuth2PasswordBearer: ['me'] }, { Nope: [] }]), ok)), {
      code: 'FST_OAUTH2_UNKNOWN_SCHEME',
      message: 'Route GET /x requires the unknown security scheme "Nope"'
    })
  })

  t.test('an undeclared scope in schema.security', async (t) => {
    t.same(await bootError(t, (app) => app.get('/x', schema([{ OAuth2PasswordBearer: ['me', 'admin'] }]), ok)), {
      code: 'FST_OAUTH2_UNKNOWN_SCOPE',
      message: 'Route GET /x requires the undeclared scope "admin" of scheme "OAuth2PasswordBearer"'
    })
  })

  t.test('a scope on a scheme without scopes', async (t) => {
    t.same(await bootError(t, (app) => app.get('/x', schema([{ ApiKey: ['me'] }]), ok)), {
      code: 'FST_OAUTH2_UNKNOWN_SCOPE',
      message: 'Route GET /x requires the undeclared scope "me" of scheme "ApiKey"'
    })
  })

  t.test('an unknown scope in the plugin default, at register time', async (t) => {
    t.same(await bootError(t, (app) => app.get('/x', ok), { security: [{ OAuth2PasswordBearer: ['admin'] }] }), {
      code: 'FST_OAUTH2_UNKNOWN_SCOPE',
      message: 'Route (the `security` option) requires the undeclared scope "admin" of scheme "OAuth2PasswordBearer"'
    })
  })

  t.test('an unknown scheme required by a context', async (t) => {
    t.same(await bootError(t, (app) => {
      app.requireSecurity({ Nope: [] })
      app.get('/x', ok)
    }), {
      code: 'FST_OAUTH2_UNKNOWN_SCHEME',
      message: 'Route GET /x requires the unknown security scheme "Nope"'
    })
  })

  t.test('a schema.security that is not OpenAPI', async (t) => {
    t.same(await bootError(t, (app) => app.get('/x', { schema: { security: { OAuth2PasswordBearer: ['me'] } as never } }, ok)), {
      code: 'FST_OAUTH2_INVALID_OPTION',
      message: 'Invalid option schema.security of GET /x: must be an array of { schemeName: [scopes] } objects'
    })
  })
})
