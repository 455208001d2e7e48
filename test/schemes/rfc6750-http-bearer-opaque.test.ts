import t, { type Test } from 'tap'
import { httpBearer, InvalidTokenError, type BearerVerifier } from '../../lib/index.js'
import { login } from '../helpers/build-app.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'

const TOKENS = new Map([
  ['opaque-token-reports', { principal: { service: 'reporting' }, scopes: ['reports'] }],
  ['opaque-token-none', { principal: { service: 'idle' } }]
])

const verify: BearerVerifier<{ service: string }> = async (token) => TOKENS.get(token) ?? null

async function bearerApp (t: Test, scheme = httpBearer({ verify, bearerFormat: 'opaque', scopes: { reports: 'Read reports', audit: 'Audit' }, description: 'Service tokens' })) {
  const { app } = await buildSchemeApp({ securitySchemes: { ServiceToken: scheme } }, (app) => {
    app.get('/any', { schema: { security: [{ ServiceToken: [] }] } }, whoami)
    app.get('/reports', { schema: { security: [{ ServiceToken: ['reports'] }] } }, whoami)
    app.get('/audit', { schema: { security: [{ ServiceToken: ['reports', 'audit'] }] } }, whoami)
  })
  t.teardown(() => app.close())
  return app
}

t.test('RFC 6750 §2.1: an opaque token in Authorization: Bearer, checked by verify', async (t) => {
  const app = await bearerApp(t)
  const response = await app.inject({ url: '/reports', headers: { authorization: 'Bearer opaque-token-reports' } })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { scheme: 'ServiceToken', principal: { service: 'reporting' }, scopes: ['reports'] })
  const noScopes = await app.inject({ url: '/any', headers: { authorization: 'bearer opaque-token-none' } })
  t.same(noScopes.json(), { scheme: 'ServiceToken', principal: { service: 'idle' }, scopes: [] })
})

t.test('RFC 6750 §3.1: no token, 401 with a bare challenge', async (t) => {
  const app = await bearerApp(t)
  for (const headers of [{}, { authorization: 'Basic am9objpzZWNyZXQ=' }]) {
    const response = await app.inject({ url: '/any', headers })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="api"')
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  }
})

t.test('RFC 6750 §3.1: a malformed Authorization header is 400 invalid_request', async (t) => {
  const app = await bearerApp(t)
  for (const authorization of ['Bearer', 'Bearer ', 'Bearer two tokens', 'Bearer tok€n', 'Bearer a=b']) {
    const response = await app.inject({ url: '/any', headers: { authorization } })
    t.equal(response.statusCode, 400, authorization)
    t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_request", error_description="The Authorization header is not a valid Bearer credential"')
    t.same(response.json(), errorBody(400, 'FST_OAUTH2_MALFORMED_CREDENTIALS', 'The Authorization header is not a valid Bearer credential'))
  }
})

t.test('RFC 6750 §3.1: a token verify refuses is 401 invalid_token', async (t) => {
  const app = await bearerApp(t)
  const response = await app.inject({ url: '/any', headers: { authorization: 'Bearer unknown-token' } })
  t.equal(response.statusCode, 401)
  t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"')
  t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_TOKEN', 'The access token is invalid'))
})

t.test('RFC 6750 §3.1: a token without a required scope is 403 insufficient_scope naming the scopes', async (t) => {
  const app = await bearerApp(t)
  const response = await app.inject({ url: '/audit', headers: { authorization: 'Bearer opaque-token-reports' } })
  t.equal(response.statusCode, 403)
  t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="reports audit"')
  t.same(response.json(), errorBody(403, 'FST_OAUTH2_INSUFFICIENT_SCOPE', 'Not enough permissions'))
})

t.test('verify gets the request; its catalogue errors refuse with their own description', async (t) => {
  const app = await bearerApp(t, httpBearer({
    realm: 'services',
    scopes: { reports: 'Read reports', audit: 'Audit' },
    verify (token, request) {
      if (token === 'expired') throw new InvalidTokenError('The access token expired')
      return request.headers['x-tenant'] === 'a' ? { principal: token, claims: { tenant: 'a' } } : undefined
    }
  }))
  const ok = await app.inject({ url: '/any', headers: { authorization: 'Bearer t1', 'x-tenant': 'a' } })
  t.same(ok.json(), { scheme: 'ServiceToken', principal: 't1', scopes: [] })
  const expired = await app.inject({ url: '/any', headers: { authorization: 'Bearer expired' } })
  t.equal(expired.statusCode, 401)
  t.equal(expired.headers['www-authenticate'], 'Bearer realm="services", error="invalid_token", error_description="The access token expired"')
  const other = await app.inject({ url: '/any', headers: { authorization: 'Bearer t1' } })
  t.equal(other.statusCode, 401)
})

t.test('separate from the password flow: its JWTs are not opaque tokens, and the reverse', async (t) => {
  const { app } = await buildSchemeApp({ securitySchemes: { ServiceToken: httpBearer({ verify }) } }, (app) => {
    app.get('/service', { schema: { security: [{ ServiceToken: [] }] } }, whoami)
    app.get('/users', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, whoami)
    app.get('/either', { schema: { security: [{ OAuth2PasswordBearer: [] }, { ServiceToken: [] }] } }, whoami)
  })
  t.teardown(() => app.close())
  const jwt = await login(app)
  t.equal((await app.inject({ url: '/service', headers: { authorization: `Bearer ${jwt}` } })).statusCode, 401)
  t.equal((await app.inject({ url: '/users', headers: { authorization: 'Bearer opaque-token-none' } })).statusCode, 401)
  const viaJwt = await app.inject({ url: '/either', headers: { authorization: `Bearer ${jwt}` } })
  t.equal(viaJwt.json().scheme, 'OAuth2PasswordBearer')
  const viaOpaque = await app.inject({ url: '/either', headers: { authorization: 'Bearer opaque-token-none' } })
  t.equal(viaOpaque.json().scheme, 'ServiceToken')
  const neither = await app.inject({ url: '/either', headers: { authorization: 'Bearer nothing-known' } })
  t.equal(neither.statusCode, 401)
  t.same(neither.headers['www-authenticate'], [
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"',
    'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"'
  ])
})

t.test('OpenAPI: http/bearer with bearerFormat and description, exactly', async (t) => {
  const app = await bearerApp(t)
  const document = openapi(app)
  t.same(document.components.securitySchemes.ServiceToken, { type: 'http', scheme: 'bearer', bearerFormat: 'opaque', description: 'Service tokens' })
  t.same(document.paths['/audit']?.get?.security, [{ ServiceToken: ['reports', 'audit'] }])
  t.ok(document.paths['/audit']?.get?.responses['403'])

  const { app: plain } = await buildSchemeApp({ securitySchemes: { T: httpBearer({ verify }) } }, () => {})
  t.teardown(() => plain.close())
  t.same(openapi(plain).components.securitySchemes.T, { type: 'http', scheme: 'bearer' })
})

t.test('scopes are declared: an undeclared one, or any without the option, fails at startup', async (t) => {
  await t.rejects(buildSchemeApp({ securitySchemes: { T: httpBearer({ verify }) } }, (app) => {
    app.get('/x', { schema: { security: [{ T: ['reports'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
  await t.rejects(buildSchemeApp({ securitySchemes: { T: httpBearer({ verify, scopes: { reports: '' } }) } }, (app) => {
    app.get('/x', { schema: { security: [{ T: ['audit'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
})

t.test('bad options are refused when the factory is called', async (t) => {
  const bad: Array<[unknown, string]> = [
    [undefined, 'httpBearer()'],
    [{}, 'httpBearer().verify'],
    [{ verify, bearerFormat: '' }, 'httpBearer().bearerFormat'],
    [{ verify, scopes: { 'a b': 'x' } }, 'httpBearer().scopes'],
    [{ verify, scopes: { a: 1 } }, 'httpBearer().scopes'],
    [{ verify, scopes: [] }, 'httpBearer().scopes'],
    [{ verify, realm: 'é' }, 'httpBearer().realm'],
    [{ verify, description: '' }, 'httpBearer().description']
  ]
  for (const [options, option] of bad) {
    t.throws(() => httpBearer(options as never), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replace(/[()]/g, '\\$&')}:`) }, option)
  }
})
