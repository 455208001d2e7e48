import Fastify, { type FastifyInstance } from 'fastify'
import swagger, { type SwaggerOptions } from '@fastify/swagger'
import { Validator } from '@seriousme/openapi-schema-validator'
import t, { type Test } from 'tap'
import oauth2Password, { type OAuth2PasswordOptions } from '../../lib/index.js'
import { tokenRouteSchema } from '../../lib/openapi/token-operation.js'
import { postForm, SCOPES, SECRET, seedUsers, userView } from '../helpers/build-app.js'

// The token operation (RFC 6749 §4.3.2 form, §5.1 answer, §5.2 errors) as the
// document shows it, and the endpoint answering only what it documents.

interface Operation {
  responses: Record<string, { headers?: Record<string, unknown>, content?: Record<string, { schema: { properties: Record<string, { enum?: string[] }>, required: string[] } }> }>
}

interface Document {
  paths: Record<string, Record<string, Operation>>
}

const INFO = { title: 'Token', version: '1.0.0' }

async function documented (t: Test, swaggerOptions: SwaggerOptions, options: Partial<OAuth2PasswordOptions> = {}): Promise<{ app: FastifyInstance, document: Document }> {
  const app = Fastify()
  t.teardown(() => app.close())
  const users = seedUsers()
  await app.register(swagger, swaggerOptions)
  await app.register(oauth2Password, {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) },
    ...options
  })
  await app.ready()
  const document = JSON.parse(JSON.stringify(app.swagger())) as Document
  t.same(await new Validator().validate(structuredClone(document) as unknown as Record<string, unknown>), { valid: true }, 'a valid document')
  return { app, document }
}

const NO_STORE_HEADERS = {
  'Cache-Control': { schema: { type: 'string', enum: ['no-store'] }, description: 'RFC 6749 §5.1: the answer must not be cached' },
  Pragma: { schema: { type: 'string', enum: ['no-cache'] }, description: 'RFC 6749 §5.1: the answer must not be cached (HTTP/1.0 caches)' }
}

const ERROR_DESCRIPTION = { type: 'string', description: 'Human-readable explanation, for the developer' }
// A refusal another plugin raises on the route (a 429 of @fastify/rate-limit) keeps Fastify's fields
const FOREIGN = 'Only in a refusal by another plugin (Fastify\'s error shape)'
const FOREIGN_FIELDS = { statusCode: { type: 'integer', description: FOREIGN }, code: { type: 'string', description: FOREIGN }, message: { type: 'string', description: FOREIGN } }

function errorResponse (description: string, codes: string[], headers: Record<string, unknown> = {}) {
  return {
    description,
    headers: { ...NO_STORE_HEADERS, ...headers },
    content: {
      'application/json': {
        schema: {
          description,
          type: 'object',
          properties: { error: { type: 'string', enum: codes }, error_description: ERROR_DESCRIPTION, ...FOREIGN_FIELDS },
          required: ['error']
        }
      }
    }
  }
}

const FORM = {
  type: 'object',
  properties: {
    grant_type: { type: 'string', enum: ['password'], description: 'The grant (RFC 6749 §4.3.2); taken as `password` when left out, unless the server is strict' },
    username: { type: 'string', description: 'The resource owner\'s username' },
    password: { type: 'string', format: 'password', description: 'The resource owner\'s password' },
    scope: { type: 'string', description: 'Space-delimited scopes to request (RFC 6749 §3.3); all the user\'s scopes when left out' },
    client_id: { type: 'string', description: 'The client identifier, when not sent in an `Authorization: Basic` header' },
    client_secret: { type: 'string', format: 'password', description: 'The client secret of a confidential client, when not sent in an `Authorization: Basic` header' }
  },
  required: ['username', 'password']
}

const TOKENS = {
  description: 'Tokens issued (RFC 6749 §5.1)',
  type: 'object',
  properties: {
    access_token: { type: 'string', description: 'The access token: a JWT (RFC 9068) to send as `Authorization: Bearer <token>`' },
    token_type: { type: 'string', enum: ['bearer'] },
    expires_in: { type: 'integer', description: 'Lifetime of the access token in seconds' },
    scope: { type: 'string', description: 'The granted scopes, space-delimited' }
  },
  required: ['access_token', 'token_type', 'expires_in', 'scope']
}

const SUMMARY = 'Obtain an access token'
const DESCRIPTION = 'OAuth 2.0 token endpoint (RFC 6749 §3.2). Send the form as `application/x-www-form-urlencoded`. ' +
  'A client identifies itself with `client_id` (and `client_secret`) in the form, or with an `Authorization: Basic` header (RFC 6749 §2.3.1).'

const TOKEN_OPERATION = {
  summary: SUMMARY,
  tags: ['OAuth2'],
  description: DESCRIPTION,
  operationId: 'token',
  requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: FORM } } },
  security: [],
  responses: {
    200: { description: 'Tokens issued (RFC 6749 §5.1)', headers: NO_STORE_HEADERS, content: { 'application/json': { schema: TOKENS } } },
    400: errorResponse('The request, grant, scope or body client credentials are invalid (RFC 6749 §5.2)', ['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope']),
    401: errorResponse('Client authentication through the Authorization header failed (RFC 6749 §5.2)', ['invalid_client'], {
      'WWW-Authenticate': { schema: { type: 'string' }, description: 'The `Basic` challenge of client authentication (RFC 6749 §2.3.1)' }
    }),
    429: errorResponse('Too many failed logins from this client address, or for this username from it: login throttling (RFC 6585 §4, `FST_OAUTH2_LOGIN_THROTTLED`). ' +
      'Answered before the password is checked, the same whether the username exists or not', ['temporarily_unavailable'], {
      'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before the next attempt counts (RFC 9110 §10.2.3)' }
    }),
    503: errorResponse('Too many logins in progress (RFC 6749 §5.2 `temporarily_unavailable`)', ['temporarily_unavailable'], {
      'Retry-After': { schema: { type: 'integer' }, description: 'Seconds to wait before retrying (RFC 9110 §10.2.3)' }
    })
  }
}

for (const version of ['3.0.3', '3.1.0']) {
  t.test(`OpenAPI ${version}: the token operation`, async (t) => {
    const { document } = await documented(t, { openapi: { openapi: version, info: INFO } })
    t.same(document.paths['/token'], { post: TOKEN_OPERATION })
  })
}

t.test('under a prefix: the operation at the prefixed path', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  const users = seedUsers()
  await app.register(swagger, { openapi: { info: INFO } })
  await app.register(async function api (child) {
    await child.register(oauth2Password, { secret: SECRET, scopes: SCOPES, bcrypt: { cost: 4 }, users: { findByUsername: (name) => users.get(name) ?? null, findById: (id) => userView(users.get(id)) } })
  }, { prefix: '/api' })
  await app.ready()
  const document = JSON.parse(JSON.stringify(app.swagger())) as Document
  t.same(document.paths, { '/api/token': { post: { ...TOKEN_OPERATION, operationId: 'apiToken' } } }, 'the operationId follows the path: two registrations never share one')
})

t.test('Swagger 2.0: the form as formData parameters', async (t) => {
  const { document } = await documented(t, { swagger: { info: INFO, host: 'example.com', schemes: ['https'] } })
  const post = document.paths['/token']?.post as unknown as Record<string, unknown>
  t.same(post.consumes, ['application/x-www-form-urlencoded'])
  t.same(post.parameters, Object.entries(FORM.properties).map(([name, property]) => ({
    ...property,
    required: FORM.required.includes(name),
    in: 'formData',
    name
  })))
  t.same(Object.keys(post.responses as object), ['200', '400', '401', '429', '503'])
})

t.test('tokenRouteSchema: the documented form and answer follow the grant types', async (t) => {
  interface Described {
    body: { properties: Record<string, unknown>, required?: string[] }
    response: Record<string, { properties: Record<string, unknown> }>
  }
  const passwordOnly = tokenRouteSchema(['password'], '/token') as unknown as Described
  t.same(passwordOnly.body.required, ['username', 'password'], 'RFC 6749 §4.3.2: REQUIRED for the password grant')
  t.notOk('refresh_token' in passwordOnly.body.properties)
  t.notOk('refresh_token' in (passwordOnly.response['200']?.properties ?? {}))

  const withRefresh = tokenRouteSchema(['password', 'refresh_token'], '/token') as unknown as Described
  t.equal(withRefresh.body.required, undefined, 'a refresh request has no username or password')
  t.same(withRefresh.body.properties.grant_type, { type: 'string', enum: ['password', 'refresh_token'], description: 'The grant (RFC 6749 §4.3.2); taken as `password` when left out, unless the server is strict' })
  t.same(withRefresh.body.properties.refresh_token, { type: 'string', description: 'The refresh token, for `grant_type=refresh_token` (RFC 6749 §6)' })
  t.same(withRefresh.response['200']?.properties.refresh_token, { type: 'string', description: 'Exchange it for new tokens with `grant_type=refresh_token`' })
})

t.test('the endpoint answers only what the operation documents', async (t) => {
  const { app, document } = await documented(t, { openapi: { info: INFO } }, { clients: { swagger: {}, backend: { secret: 'backend-secret' } } })
  const responses = document.paths['/token']?.post?.responses ?? {}
  const basic = (id: string, secret: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}` })
  const cases: Array<[string, Record<string, string> | string, Record<string, string>?]> = [
    ['success', { username: 'johndoe', password: 'secret', client_id: 'swagger', scope: 'me' }],
    ['success, Basic client', { username: 'johndoe', password: 'secret' }, basic('backend', 'backend-secret')],
    ['wrong password', { username: 'johndoe', password: 'nope', client_id: 'swagger' }],
    ['unknown scope', { username: 'johndoe', password: 'secret', client_id: 'swagger', scope: 'admin' }],
    ['unsupported grant', { grant_type: 'client_credentials', client_id: 'swagger' }],
    ['missing password', { username: 'johndoe', client_id: 'swagger' }],
    ['unknown client', { username: 'johndoe', password: 'secret', client_id: 'nobody' }],
    ['bad client secret', { username: 'johndoe', password: 'secret' }, basic('backend', 'wrong')],
    ['malformed form', 'username=%zz'],
    ...Array.from({ length: 5 }, (): [string, Record<string, string>] => ['wrong password, again', { username: 'bob', password: 'nope', client_id: 'swagger' }]),
    ['throttled (login throttling)', { username: 'bob', password: 'nope', client_id: 'swagger' }]
  ]
  for (const [name, form, headers] of cases) {
    const response = await postForm(app, form, headers)
    const status = String(response.statusCode)
    const documentedResponse = responses[status]
    t.ok(documentedResponse !== undefined, `${name}: ${status} is documented`)
    const schema = documentedResponse?.content?.['application/json']?.schema
    const body = response.json() as Record<string, unknown>
    for (const property of schema?.required ?? []) t.ok(property in body, `${name}: "${property}" is present`)
    for (const property of Object.keys(body)) t.ok(property in (schema?.properties ?? {}), `${name}: "${property}" is documented`)
    const codes = schema?.properties.error?.enum
    if (codes !== undefined) t.ok(codes.includes(body.error as string), `${name}: "${String(body.error)}" is one of the documented codes`)
    for (const header of Object.keys(documentedResponse?.headers ?? {})) {
      t.ok(response.headers[header.toLowerCase()] !== undefined, `${name}: the ${header} header is sent`)
    }
  }
})
