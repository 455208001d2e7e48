import t, { type Test } from 'tap'
import { createSigner } from 'fast-jwt'
import { openIdConnect, type OpenIdConnectOptions } from '../../lib/index.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'
import { providerKey, startProvider, validClaims, type TestProvider } from '../helpers/oidc-provider.js'

const AUDIENCE = 'https://api.example.test'

async function provider (t: Test, keys?: Parameters<typeof startProvider>[0]): Promise<TestProvider> {
  const started = await startProvider(keys)
  t.teardown(() => started.close())
  return started
}

async function oidcApp (t: Test, idp: TestProvider, options: Partial<OpenIdConnectOptions> = {}) {
  const scheme = openIdConnect({ openIdConnectUrl: idp.discoveryUrl, audience: AUDIENCE, scopes: { 'reports:read': 'Read reports' }, ...options })
  const { app } = await buildSchemeApp({ securitySchemes: { OpenIdConnect: scheme } }, (app) => {
    app.get('/me', { schema: { security: [{ OpenIdConnect: [] }] } }, whoami)
    app.get('/reports', { schema: { security: [{ OpenIdConnect: ['reports:read'] }] } }, whoami)
  })
  t.teardown(() => app.close())
  return app
}

function bearer (token: string) {
  return { authorization: `Bearer ${token}` }
}

t.test('a token of the provider, verified through discovery and JWKS: principal = claims, scopes from scope', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp)
  const claims = validClaims(idp, AUDIENCE, { scope: 'openid reports:read' })
  const response = await app.inject({ url: '/reports', headers: bearer(idp.sign(claims)) })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { scheme: 'OpenIdConnect', principal: claims, scopes: ['openid', 'reports:read'] })
})

t.test('discovery and keys are fetched once and cached', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp)
  for (let i = 0; i < 3; i++) {
    const response = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE, { jti: String(i) }))) })
    t.equal(response.statusCode, 200)
  }
  t.equal(idp.hits.get('/.well-known/openid-configuration'), 1)
  t.equal(idp.hits.get('/jwks'), 1)
  t.equal(idp.hits.size, 2)
})

t.test('concurrent first requests share one discovery and one key fetch', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp)
  const token = idp.sign(validClaims(idp, AUDIENCE))
  const responses = await Promise.all(Array.from({ length: 5 }, () => app.inject({ url: '/me', headers: bearer(token) })))
  t.same(responses.map((response) => response.statusCode), [200, 200, 200, 200, 200])
  t.equal(idp.hits.get('/.well-known/openid-configuration'), 1)
  t.equal(idp.hits.get('/jwks'), 1)
})

t.test('scopes from scp (a list or a string), and none when absent', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp)
  const list = await app.inject({ url: '/reports', headers: bearer(idp.sign(validClaims(idp, AUDIENCE, { scp: ['reports:read', 7, ''] }))) })
  t.same(list.json().scopes, ['reports:read'])
  const text = await app.inject({ url: '/reports', headers: bearer(idp.sign(validClaims(idp, AUDIENCE, { scp: 'a  reports:read' }))) })
  t.same(text.json().scopes, ['a', 'reports:read'])
  const none = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE, { scope: 42 }))) })
  t.same(none.json().scopes, [])
})

t.test('a missing scope is 403 insufficient_scope', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp)
  const response = await app.inject({ url: '/reports', headers: bearer(idp.sign(validClaims(idp, AUDIENCE, { scope: 'openid' }))) })
  t.equal(response.statusCode, 403)
  t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="insufficient_scope", error_description="Not enough permissions", scope="reports:read"')
  t.same(response.json(), errorBody(403, 'FST_OAUTH2_INSUFFICIENT_SCOPE', 'Not enough permissions'))
})

t.test('no token: 401 with a bare Bearer challenge; a malformed header: 400', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp, { realm: 'sso' })
  const none = await app.inject({ url: '/me' })
  t.equal(none.statusCode, 401)
  t.equal(none.headers['www-authenticate'], 'Bearer realm="sso"')
  t.same(none.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  const malformed = await app.inject({ url: '/me', headers: { authorization: 'Bearer a b' } })
  t.equal(malformed.statusCode, 400)
  t.equal(idp.hits.size, 0, 'nothing is fetched for requests without a token')
})

t.test('RFC 8725: tokens refused with invalid_token, for every reason', async (t) => {
  const rsa = providerKey('rsa', 'RS256')
  const idp = await provider(t, [rsa, providerKey('ec', 'ES256'), providerKey('ed', 'EdDSA')])
  const app = await oidcApp(t, idp)
  const now = Math.floor(Date.now() / 1000)
  const stranger = providerKey('rsa', 'RS256', undefined, true)
  const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const cases: Array<[string, string, string]> = [
    ['wrong issuer', idp.sign(validClaims(idp, AUDIENCE, { iss: 'https://evil.example' })), 'The access token issuer or audience is not accepted'],
    ['wrong audience', idp.sign(validClaims(idp, AUDIENCE, { aud: 'https://other.example' })), 'The access token issuer or audience is not accepted'],
    ['no audience', idp.sign(validClaims(idp, AUDIENCE, { aud: undefined })), 'The access token claims are invalid'],
    ['no issuer', idp.sign(validClaims(idp, AUDIENCE, { iss: undefined })), 'The access token claims are invalid'],
    ['no expiry', idp.sign(validClaims(idp, AUDIENCE, { exp: undefined })), 'The access token claims are invalid'],
    ['expired', idp.sign(validClaims(idp, AUDIENCE, { exp: now - 60 })), 'The access token expired'],
    ['not yet valid', idp.sign(validClaims(idp, AUDIENCE, { nbf: now + 600 })), 'The access token is not valid yet'],
    ['signed by another key under a known kid', idp.sign(validClaims(idp, AUDIENCE), { key: stranger }), 'The access token signature is invalid'],
    ['an algorithm the key is not for (PS256 on an RS256 JWK)', idp.sign(validClaims(idp, AUDIENCE), { key: { ...rsa, alg: 'PS256' } }), 'The access token algorithm is not accepted'],
    ['HS256 with the public key as secret', createSigner({ key: publicPem, algorithm: 'HS256', header: { alg: 'HS256', kid: 'rsa' } })(validClaims(idp, AUDIENCE)), 'The access token algorithm is not accepted'],
    ['alg none', `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'rsa' })).toString('base64url')}.${Buffer.from(JSON.stringify(validClaims(idp, AUDIENCE))).toString('base64url')}.`, 'The access token signature is invalid'],
    ['not a JWT', 'abc.def.ghi', 'The access token is invalid'],
    ['an unknown kid', idp.sign(validClaims(idp, AUDIENCE), { key: { ...stranger, kid: 'nope' } }), 'The access token signing key is unknown'],
    ['no kid while the set has several keys', idp.sign(validClaims(idp, AUDIENCE), { noKid: true }), 'The access token signing key is unknown']
  ]
  for (const [reason, token, description] of cases) {
    const response = await app.inject({ url: '/me', headers: bearer(token) })
    t.equal(response.statusCode, 401, reason)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_TOKEN', description), reason)
    t.equal(response.headers['www-authenticate'], `Bearer realm="api", error="invalid_token", error_description="${description}"`, reason)
  }
  for (const key of idp.keys) {
    const response = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key })) })
    t.equal(response.statusCode, 200, `${key.alg} key`)
  }
})

t.test('only the provider\'s algorithms: a key whose algorithm it does not list is not used', async (t) => {
  const idp = await provider(t, [providerKey('rsa', 'RS256'), providerKey('ec', 'ES256')])
  idp.discovery.id_token_signing_alg_values_supported = ['RS256', 'HS256', 'none']
  const app = await oidcApp(t, idp)
  const rs = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE))) })
  t.equal(rs.statusCode, 200)
  const es = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: idp.keys[1] })) })
  t.equal(es.statusCode, 401)
  t.equal(es.json().message, 'The access token signing key is unknown')
})

t.test('the algorithms option narrows the provider\'s list', async (t) => {
  const idp = await provider(t, [providerKey('rsa', 'RS256'), providerKey('ed', 'EdDSA')])
  const app = await oidcApp(t, idp, { algorithms: ['EdDSA'] })
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: idp.keys[1] })) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE))) })).statusCode, 401)
})

t.test('JWKs without alg or use are used with the algorithms their type fits; others are skipped', async (t) => {
  const plain = providerKey('plain', 'PS256', {})
  const idp = await provider(t, [
    plain,
    providerKey('enc', 'RS256', { use: 'enc' }),
    providerKey('ec384', 'ES384', {}),
    providerKey('mislabelled', 'ES256', { alg: 'RS256' })
  ])
  idp.jwksOverride = {
    keys: [
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
      'not an object',
      { kty: 'RSA', kid: 'broken', n: 'AQAB', e: 'AQAB' },
      { kty: 'RSA', kid: 42 },
      ...idp.keys.map((key) => ({ ...key.publicKey.export({ format: 'jwk' }), kid: key.kid, ...key.publish })),
      { ...plain.publicKey.export({ format: 'jwk' }), kid: 'plain', alg: 'RS256' }
    ]
  }
  const app = await oidcApp(t, idp)
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: plain })) })).statusCode, 200)
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: { ...plain, alg: 'RS256' } })) })).statusCode, 200, 'an RSA key without alg serves RS256 and PS256')
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: idp.keys[1] })) })).statusCode, 401, 'use: enc')
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: idp.keys[2] })) })).statusCode, 200, 'P-384 for ES384')
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: idp.keys[3] })) })).statusCode, 401, 'an EC key labelled RS256')
})

t.test('a token without kid uses the only key of the set', async (t) => {
  const idp = await provider(t, [providerKey('only', 'ES256')])
  const app = await oidcApp(t, idp)
  const response = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { noKid: true })) })
  t.equal(response.statusCode, 200)
})

t.test('key rotation: an unknown kid fetches the keys again, at most once per cooldown', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp, { refreshCooldown: 0 })
  t.equal((await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE))) })).statusCode, 200)
  const next = providerKey('k2', 'ES256')
  idp.keys = [...idp.keys, next]
  const rotated = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE), { key: next })) })
  t.equal(rotated.statusCode, 200)
  t.equal(idp.hits.get('/jwks'), 2)

  const cooled = await provider(t)
  const slow = await oidcApp(t, cooled, { refreshCooldown: 3600 })
  t.equal((await slow.inject({ url: '/me', headers: bearer(cooled.sign(validClaims(cooled, AUDIENCE))) })).statusCode, 200)
  const added = providerKey('k2', 'ES256')
  cooled.keys = [...cooled.keys, added]
  for (let i = 0; i < 3; i++) {
    const response = await slow.inject({ url: '/me', headers: bearer(cooled.sign(validClaims(cooled, AUDIENCE), { key: added })) })
    t.equal(response.statusCode, 401)
  }
  t.equal(cooled.hits.get('/jwks'), 1, 'a flood of unknown kids does not become a flood of fetches')
})

t.test('an unreachable or broken provider is 503, never a 500 and never a pass', async (t) => {
  const faults: Array<[string, 'status-500' | 'not-json' | 'too-large' | 'redirect' | 'hang']> = [
    ['/.well-known/openid-configuration', 'status-500'],
    ['/.well-known/openid-configuration', 'not-json'],
    ['/.well-known/openid-configuration', 'too-large'],
    ['/.well-known/openid-configuration', 'redirect'],
    ['/.well-known/openid-configuration', 'hang'],
    ['/jwks', 'status-500'],
    ['/jwks', 'not-json']
  ]
  for (const [path, fault] of faults) {
    const idp = await provider(t)
    idp.faults.set(path, fault)
    const app = await oidcApp(t, idp, { timeout: 0.2 })
    const response = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE))) })
    t.equal(response.statusCode, 503, `${path} ${fault}`)
    t.same(response.json(), errorBody(503, 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', 'Authentication is temporarily unavailable'))
    t.equal(response.headers['www-authenticate'], 'Bearer realm="api"')
  }
})

t.test('provider documents are checked: issuer, jwks_uri, algorithms, key set', async (t) => {
  const broken: Array<[string, (idp: TestProvider) => void]> = [
    ['issuer of another provider', (idp) => { idp.discovery.issuer = 'https://evil.example' }],
    ['issuer missing', (idp) => { delete idp.discovery.issuer }],
    ['discovery not an object', (idp) => { idp.discovery = [] as unknown as Record<string, unknown> }],
    ['jwks_uri over plain http', (idp) => { idp.discovery.jwks_uri = 'http://keys.example/jwks' }],
    ['jwks_uri not a URL', (idp) => { idp.discovery.jwks_uri = 'not a url' }],
    ['jwks_uri missing', (idp) => { delete idp.discovery.jwks_uri }],
    ['only symmetric algorithms', (idp) => { idp.discovery.id_token_signing_alg_values_supported = ['HS256', 'none'] }],
    ['algorithms missing', (idp) => { delete idp.discovery.id_token_signing_alg_values_supported }],
    ['key set not a key set', (idp) => { idp.jwksOverride = { keys: 'none' } }]
  ]
  for (const [problem, breakIt] of broken) {
    const idp = await provider(t)
    breakIt(idp)
    const app = await oidcApp(t, idp)
    const response = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE))) })
    t.equal(response.statusCode, 503, problem)
  }
})

t.test('a provider that recovers is used again once the cooldown allows', async (t) => {
  const idp = await provider(t)
  idp.faults.set('/jwks', 'status-500')
  const app = await oidcApp(t, idp, { refreshCooldown: 0 })
  const token = idp.sign(validClaims(idp, AUDIENCE))
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 503)
  idp.faults.clear()
  t.equal((await app.inject({ url: '/me', headers: bearer(token) })).statusCode, 200)

  const down = await provider(t)
  down.faults.set('/jwks', 'status-500')
  const patient = await oidcApp(t, down, { refreshCooldown: 3600 })
  const downToken = down.sign(validClaims(down, AUDIENCE))
  t.equal((await patient.inject({ url: '/me', headers: bearer(downToken) })).statusCode, 503)
  down.faults.clear()
  t.equal((await patient.inject({ url: '/me', headers: bearer(downToken) })).statusCode, 503, 'within the cooldown the failure stands')
  t.equal(down.hits.get('/jwks'), 1)
})

t.test('issuer: a trailing slash as some providers publish it, or an explicit one', async (t) => {
  const idp = await provider(t)
  idp.discovery.issuer = `${idp.origin}/`
  const app = await oidcApp(t, idp)
  const ok = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE, { iss: `${idp.origin}/` }))) })
  t.equal(ok.statusCode, 200)
  const other = await app.inject({ url: '/me', headers: bearer(idp.sign(validClaims(idp, AUDIENCE))) })
  t.equal(other.statusCode, 401, 'tokens must carry the issuer the provider published')

  const custom = await provider(t)
  custom.discovery.issuer = 'https://issuer.example'
  const explicit = await oidcApp(t, custom, { openIdConnectUrl: `${custom.origin}/.well-known/openid-configuration?tenant=1`, issuer: 'https://issuer.example', audience: [AUDIENCE, 'other'] })
  const response = await explicit.inject({ url: '/me', headers: bearer(custom.sign(validClaims(custom, 'other', { iss: 'https://issuer.example' }))) })
  t.equal(response.statusCode, 200)
})

t.test('OpenAPI: an openIdConnect scheme with its URL, exactly', async (t) => {
  const idp = await provider(t)
  const app = await oidcApp(t, idp, { description: 'Company SSO' })
  const document = openapi(app)
  t.same(document.components.securitySchemes.OpenIdConnect, { type: 'openIdConnect', openIdConnectUrl: idp.discoveryUrl, description: 'Company SSO' })
  t.same(document.paths['/reports']?.get?.security, [{ OpenIdConnect: ['reports:read'] }])
  t.ok(document.paths['/reports']?.get?.responses['403'])
  t.equal(idp.hits.size, 0, 'documenting the scheme fetches nothing')
  const plain = await oidcApp(t, idp)
  t.same(openapi(plain).components.securitySchemes.OpenIdConnect, { type: 'openIdConnect', openIdConnectUrl: idp.discoveryUrl })
})

t.test('undeclared scopes fail at startup', async (t) => {
  const idp = await provider(t)
  await t.rejects(buildSchemeApp({ securitySchemes: { O: openIdConnect({ openIdConnectUrl: idp.discoveryUrl, audience: AUDIENCE }) } }, (app) => {
    app.get('/x', { schema: { security: [{ O: ['openid'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
})

t.test('bad options are refused when the factory is called', async (t) => {
  const url = 'https://idp.example/.well-known/openid-configuration'
  const bad: Array<[unknown, string]> = [
    [undefined, 'openIdConnect()'],
    [{ audience: AUDIENCE }, 'openIdConnect().openIdConnectUrl'],
    [{ openIdConnectUrl: 'not a url', audience: AUDIENCE }, 'openIdConnect().openIdConnectUrl'],
    [{ openIdConnectUrl: 'http://idp.example/.well-known/openid-configuration', audience: AUDIENCE }, 'openIdConnect().openIdConnectUrl'],
    [{ openIdConnectUrl: 'https://user:pw@idp.example/.well-known/openid-configuration', audience: AUDIENCE }, 'openIdConnect().openIdConnectUrl'],
    [{ openIdConnectUrl: 'ftp://idp.example/.well-known/openid-configuration', audience: AUDIENCE }, 'openIdConnect().openIdConnectUrl'],
    [{ openIdConnectUrl: 'https://idp.example/config.json', audience: AUDIENCE }, 'openIdConnect().issuer'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, issuer: '' }, 'openIdConnect().issuer'],
    [{ openIdConnectUrl: url }, 'openIdConnect().audience'],
    [{ openIdConnectUrl: url, audience: [] }, 'openIdConnect().audience'],
    [{ openIdConnectUrl: url, audience: [''] }, 'openIdConnect().audience'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, algorithms: ['HS256'] }, 'openIdConnect().algorithms'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, algorithms: [] }, 'openIdConnect().algorithms'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, clockTolerance: -1 }, 'openIdConnect().clockTolerance'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, timeout: 0 }, 'openIdConnect().timeout'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, cacheTtl: 'long' }, 'openIdConnect().cacheTtl'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, refreshCooldown: Number.NaN }, 'openIdConnect().refreshCooldown'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, scopes: { 'a b': '' } }, 'openIdConnect().scopes'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, realm: '"' }, 'openIdConnect().realm'],
    [{ openIdConnectUrl: url, audience: AUDIENCE, description: '' }, 'openIdConnect().description']
  ]
  for (const [options, option] of bad) {
    t.throws(() => openIdConnect(options as never), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replace(/[()]/g, '\\$&')}:`) }, option)
  }
  for (const openIdConnectUrl of ['http://localhost:8080/.well-known/openid-configuration', 'http://[::1]/.well-known/openid-configuration', 'https://idp.example/tenant/.well-known/openid-configuration']) {
    t.doesNotThrow(() => openIdConnect({ openIdConnectUrl, audience: AUDIENCE, clockTolerance: 5, refreshCooldown: 0 }), openIdConnectUrl)
  }
})
