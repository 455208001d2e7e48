import t, { type Test } from 'tap'
import { oauth2AuthorizationCode, type OAuth2AuthorizationCodeOptions } from '../../lib/index.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'
import { providerKey, startProvider, validClaims, type TestProvider } from '../helpers/oidc-provider.js'

const AUDIENCE = 'reports-api'
const FLOW = {
  authorizationUrl: 'https://sso.example.test/authorize',
  tokenUrl: 'https://sso.example.test/token',
  scopes: { 'reports:read': 'Read reports', 'reports:write': 'Write reports' }
}

async function provider (t: Test): Promise<TestProvider> {
  const started = await startProvider([providerKey('k1', 'ES256')])
  t.teardown(() => started.close())
  return started
}

async function codeApp (t: Test, options: OAuth2AuthorizationCodeOptions) {
  const { app } = await buildSchemeApp({ securitySchemes: { Corporate: oauth2AuthorizationCode(options) } }, (app) => {
    app.get('/reports', { schema: { security: [{ Corporate: ['reports:read'] }] } }, whoami)
  })
  t.teardown(() => app.close())
  return app
}

t.test('OpenAPI: an oauth2 scheme with the authorizationCode flow, exactly (what Swagger UI runs)', async (t) => {
  const app = await codeApp(t, { ...FLOW, refreshUrl: '/refresh', description: 'Company SSO', verify: () => null })
  const document = openapi(app)
  t.same(document.components.securitySchemes.Corporate, {
    type: 'oauth2',
    description: 'Company SSO',
    flows: { authorizationCode: { authorizationUrl: FLOW.authorizationUrl, tokenUrl: FLOW.tokenUrl, refreshUrl: '/refresh', scopes: FLOW.scopes } }
  })
  t.same(document.paths['/reports']?.get?.security, [{ Corporate: ['reports:read'] }])
  t.ok(document.paths['/reports']?.get?.responses['403'])
})

t.test('tokens checked by verify, as FastAPI leaves it to the app', async (t) => {
  const app = await codeApp(t, {
    ...FLOW,
    realm: 'sso',
    verify: (token) => token === 'good' ? { principal: { user: 'ann' }, scopes: ['reports:read'] } : token === 'narrow' ? { principal: { user: 'bob' } } : null
  })
  const ok = await app.inject({ url: '/reports', headers: { authorization: 'Bearer good' } })
  t.same(ok.json(), { scheme: 'Corporate', principal: { user: 'ann' }, scopes: ['reports:read'] })
  const narrow = await app.inject({ url: '/reports', headers: { authorization: 'Bearer narrow' } })
  t.equal(narrow.statusCode, 403)
  t.equal(narrow.headers['www-authenticate'], 'Bearer realm="sso", error="insufficient_scope", error_description="Not enough permissions", scope="reports:read"')
  const bad = await app.inject({ url: '/reports', headers: { authorization: 'Bearer bad' } })
  t.equal(bad.statusCode, 401)
  t.same(bad.json(), errorBody(401, 'FST_OAUTH2_INVALID_TOKEN', 'The access token is invalid'))
  const none = await app.inject({ url: '/reports' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="sso"')
})

t.test('JWT access tokens verified through the server\'s discovery document', async (t) => {
  const idp = await provider(t)
  const app = await codeApp(t, { ...FLOW, jwt: { openIdConnectUrl: idp.discoveryUrl, audience: AUDIENCE } })
  const claims = validClaims(idp, AUDIENCE, { scope: 'reports:read' })
  const ok = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${idp.sign(claims)}` } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { scheme: 'Corporate', principal: claims, scopes: ['reports:read'] })
  const other = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${idp.sign(validClaims(idp, 'elsewhere', { scope: 'reports:read' }))}` } })
  t.equal(other.statusCode, 401)

  const explicit = await codeApp(t, { ...FLOW, jwt: { openIdConnectUrl: `${idp.origin}/.well-known/openid-configuration`, issuer: idp.origin, audience: AUDIENCE } })
  t.equal((await explicit.inject({ url: '/reports', headers: { authorization: `Bearer ${idp.sign(claims)}` } })).statusCode, 200)
})

t.test('JWT access tokens verified with a JWKS URL, issuer and algorithms given directly', async (t) => {
  const idp = await provider(t)
  const app = await codeApp(t, { ...FLOW, jwt: { jwksUri: idp.jwksUrl, issuer: idp.origin, algorithms: ['ES256'], audience: AUDIENCE } })
  const ok = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${idp.sign(validClaims(idp, AUDIENCE, { scp: ['reports:read'] }))}` } })
  t.equal(ok.statusCode, 200)
  t.equal(idp.hits.get('/.well-known/openid-configuration'), undefined, 'no discovery')
  const wrongIssuer = await app.inject({ url: '/reports', headers: { authorization: `Bearer ${idp.sign(validClaims(idp, AUDIENCE, { iss: 'https://other' }))}` } })
  t.equal(wrongIssuer.statusCode, 401)

  const rsOnly = await codeApp(t, { ...FLOW, jwt: { jwksUri: idp.jwksUrl, issuer: idp.origin, algorithms: ['RS256'], audience: AUDIENCE } })
  const refused = await rsOnly.inject({ url: '/reports', headers: { authorization: `Bearer ${idp.sign(validClaims(idp, AUDIENCE, { scope: 'reports:read' }))}` } })
  t.equal(refused.statusCode, 401, 'an ES256 key is not used when only RS256 is allowed')
  t.equal(refused.json().message, 'The access token signing key is unknown')
})

t.test('undeclared scopes fail at startup', async (t) => {
  await t.rejects(buildSchemeApp({ securitySchemes: { C: oauth2AuthorizationCode({ ...FLOW, verify: () => null }) } }, (app) => {
    app.get('/x', { schema: { security: [{ C: ['admin'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
})

t.test('bad options are refused when the factory is called', async (t) => {
  const verify = () => null
  const jwks = { jwksUri: 'https://sso.example.test/jwks', issuer: 'https://sso.example.test', algorithms: ['RS256'], audience: AUDIENCE }
  const bad: Array<[unknown, string]> = [
    [undefined, 'oauth2AuthorizationCode()'],
    [{ ...FLOW, authorizationUrl: '' }, 'oauth2AuthorizationCode().authorizationUrl'],
    [{ ...FLOW, tokenUrl: 'http://[broken' }, 'oauth2AuthorizationCode().tokenUrl'],
    [{ ...FLOW, refreshUrl: 7, verify }, 'oauth2AuthorizationCode().refreshUrl'],
    [{ ...FLOW, scopes: { 'a b': '' }, verify }, 'oauth2AuthorizationCode().scopes'],
    [{ ...FLOW, scopes: undefined, verify }, 'oauth2AuthorizationCode().scopes'],
    [{ ...FLOW, realm: '"', verify }, 'oauth2AuthorizationCode().realm'],
    [{ ...FLOW, description: '', verify }, 'oauth2AuthorizationCode().description'],
    [{ ...FLOW }, 'oauth2AuthorizationCode()'],
    [{ ...FLOW, verify, jwt: jwks }, 'oauth2AuthorizationCode()'],
    [{ ...FLOW, verify: 'no' }, 'oauth2AuthorizationCode().verify'],
    [{ ...FLOW, jwt: 'no' }, 'oauth2AuthorizationCode().jwt'],
    [{ ...FLOW, jwt: { audience: AUDIENCE } }, 'oauth2AuthorizationCode().jwt'],
    [{ ...FLOW, jwt: { ...jwks, openIdConnectUrl: 'https://sso.example.test/.well-known/openid-configuration' } }, 'oauth2AuthorizationCode().jwt'],
    [{ ...FLOW, jwt: { openIdConnectUrl: 'https://sso.example.test/oidc.json', audience: AUDIENCE } }, 'oauth2AuthorizationCode().jwt.issuer'],
    [{ ...FLOW, jwt: { openIdConnectUrl: 'http://sso.example.test/.well-known/openid-configuration', audience: AUDIENCE } }, 'oauth2AuthorizationCode().jwt.openIdConnectUrl'],
    [{ ...FLOW, jwt: { ...jwks, jwksUri: 'http://sso.example.test/jwks' } }, 'oauth2AuthorizationCode().jwt.jwksUri'],
    [{ ...FLOW, jwt: { ...jwks, issuer: undefined } }, 'oauth2AuthorizationCode().jwt.issuer'],
    [{ ...FLOW, jwt: { ...jwks, algorithms: undefined } }, 'oauth2AuthorizationCode().jwt.algorithms'],
    [{ ...FLOW, jwt: { ...jwks, algorithms: ['HS256'] } }, 'oauth2AuthorizationCode().jwt.algorithms'],
    [{ ...FLOW, jwt: { ...jwks, audience: undefined } }, 'oauth2AuthorizationCode().jwt.audience']
  ]
  for (const [options, option] of bad) {
    t.throws(() => oauth2AuthorizationCode(options as never), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replace(/[()]/g, '\\$&')}:`) }, option)
  }
  t.doesNotThrow(() => oauth2AuthorizationCode({ authorizationUrl: '/authorize', tokenUrl: '/token', scopes: {}, verify }))
})
