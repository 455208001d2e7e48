import { Validator } from '@seriousme/openapi-schema-validator'
import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { buildExampleApp, DEMO_API_KEY } from '../../examples/app/app.js'

// The example's routes for the other schemes: GET /reports (API key or token with "items")
// and GET /basic/me (HTTP Basic with the demo users), enforced and documented.

const SECRET = 'example-test-secret-of-at-least-32-bytes'
const JOHNDOE = { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false }
const REPORTS = [{ report_id: 'Q1', title: 'Quarterly sales' }]

async function exampleApp (test: Test): Promise<FastifyInstance> {
  const app = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: ':memory:' })
  test.teardown(() => app.close())
  return app
}

async function login (app: FastifyInstance, scope: string): Promise<string> {
  const response = await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=johndoe&password=secret&scope=${scope}` })
  return (response.json() as { access_token: string }).access_token
}

function basic (userPass: string): string {
  return `Basic ${Buffer.from(userPass).toString('base64')}`
}

t.test('GET /reports: the demo API key in X-API-Key, or a token with scope "items"', async (t) => {
  const app = await exampleApp(t)
  const viaKey = await app.inject({ url: '/reports', headers: { 'x-api-key': DEMO_API_KEY } })
  t.equal(viaKey.statusCode, 200)
  t.same(viaKey.json(), { reports: REPORTS, authenticated_by: 'ApiKey' })
  t.equal(DEMO_API_KEY, 'demo-key-0123456789abcdef')

  const viaToken = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${await login(app, 'items')}` } })
  t.same(viaToken.json(), { reports: REPORTS, authenticated_by: 'OAuth2PasswordBearer' })

  const none = await app.inject({ url: '/reports' })
  t.equal(none.statusCode, 401)
  t.same(none.headers['www-authenticate'], ['APIKey realm="api", in="header", name="X-API-Key"', 'Bearer realm="api"'])

  const wrongKey = await app.inject({ url: '/reports', headers: { 'x-api-key': 'not-the-demo-key-0123' } })
  t.equal(wrongKey.statusCode, 401)
  t.equal(wrongKey.json().code, 'FST_OAUTH2_INVALID_CREDENTIALS')

  const narrow = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${await login(app, 'me')}` } })
  t.equal(narrow.statusCode, 403)
  t.same(narrow.headers['www-authenticate'], ['APIKey realm="api", in="header", name="X-API-Key"', 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="items"'])
})

t.test('GET /basic/me: HTTP Basic with the demo users, same answers as /users/me', async (t) => {
  const app = await exampleApp(t)
  const ok = await app.inject({ url: '/basic/me', headers: { authorization: basic('johndoe:secret') } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), JOHNDOE)
  t.notOk(/\$2[aby]\$/.test(ok.body), 'no bcrypt hash in the response')
  for (const userPass of ['johndoe:wrong', 'alice:secret', 'nobody:secret']) {
    const refused = await app.inject({ url: '/basic/me', headers: { authorization: basic(userPass) } })
    t.equal(refused.statusCode, 401, userPass)
    t.equal(refused.headers['www-authenticate'], 'Basic realm="api", charset="UTF-8"')
    t.same(refused.json(), { statusCode: 401, code: 'FST_OAUTH2_INVALID_CREDENTIALS', error: 'Unauthorized', message: 'Incorrect username or password' })
  }
  const token = await app.inject({ url: '/basic/me', headers: { authorization: `Bearer ${await login(app, 'me')}` } })
  t.equal(token.statusCode, 401, 'a bearer token is not Basic credentials')
})

t.test('/docs/json: both schemes and both requirements, as enforced, in a valid document', async (t) => {
  const app = await exampleApp(t)
  const response = await app.inject({ url: '/docs/json' })
  const document = response.json() as {
    components: { securitySchemes: Record<string, unknown> }
    paths: Record<string, Record<string, { security?: unknown, responses: Record<string, unknown> }>>
  }
  const validation = await new Validator().validate(document)
  t.same(validation.errors, undefined, 'a valid OpenAPI 3.1 document')
  t.same(document.components.securitySchemes.ApiKey, { type: 'apiKey', name: 'X-API-Key', in: 'header', description: `Demo key: ${DEMO_API_KEY}` })
  t.same(document.components.securitySchemes.Basic, { type: 'http', scheme: 'basic', description: 'The demo users, e.g. johndoe / secret' })
  t.same(document.paths['/reports']?.get?.security, [{ ApiKey: [] }, { OAuth2PasswordBearer: ['items'] }])
  t.same(document.paths['/basic/me']?.get?.security, [{ Basic: [] }])
  t.has(document.paths['/reports']?.get?.responses, { 200: {}, 401: {}, 403: {} })
  t.has(document.paths['/basic/me']?.get?.responses, { 200: {}, 401: {} })
})
