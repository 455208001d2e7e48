import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { apiKey, staticApiKeys, MalformedCredentialsError } from '../../lib/index.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'

const KEY = 'demo-key-0123456789abcdef'
const OTHER_KEY = 'other-key-0123456789abcdef'
const HEADER_CHALLENGE = 'APIKey realm="api", in="header", name="X-API-Key"'

async function headerApp (t: Test, extra: Parameters<typeof apiKey>[0] | null = null) {
  const scheme = apiKey(extra ?? { in: 'header', name: 'X-API-Key', verify: staticApiKeys({ [KEY]: { client: 'demo' } }), description: 'Reports key' })
  const { app } = await buildSchemeApp({ securitySchemes: { ApiKey: scheme } }, (app) => {
    app.get('/reports', { schema: { security: [{ ApiKey: [] }] } }, whoami)
  })
  t.teardown(() => app.close())
  return app
}

t.test('header: a valid key authenticates with the principal verify returns', async (t) => {
  const app = await headerApp(t)
  const response = await app.inject({ url: '/reports', headers: { 'x-api-key': KEY } })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['www-authenticate'], undefined)
  t.same(response.json(), { scheme: 'ApiKey', principal: { client: 'demo' }, scopes: [] })
})

t.test('header: the header name is case-insensitive', async (t) => {
  const app = await headerApp(t)
  const response = await app.inject({ url: '/reports', headers: { 'X-Api-KEY': KEY } })
  t.equal(response.statusCode, 200)
})

t.test('header: no key, or an empty one, is 401 with the APIKey challenge', async (t) => {
  const app = await headerApp(t)
  for (const headers of [{}, { 'x-api-key': '' }, { 'x-other': KEY }]) {
    const response = await app.inject({ url: '/reports', headers })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], HEADER_CHALLENGE)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  }
})

t.test('header: a key verify refuses is 401 FST_OAUTH2_INVALID_CREDENTIALS', async (t) => {
  const app = await headerApp(t)
  for (const key of [OTHER_KEY, 'short', KEY.toUpperCase(), `${KEY}x`]) {
    const response = await app.inject({ url: '/reports', headers: { 'x-api-key': key } })
    t.equal(response.statusCode, 401, key)
    t.equal(response.headers['www-authenticate'], HEADER_CHALLENGE)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'The API key is invalid'))
  }
})

t.test('header: a key outside the VCHAR grammar, too long, or repeated is 400', async (t) => {
  const app = await headerApp(t)
  const malformed = errorBody(400, 'FST_OAUTH2_MALFORMED_CREDENTIALS', 'The API key header is malformed or repeated')
  for (const value of ['two words', 'caf\u00e9', 'x'.repeat(4097), [KEY, KEY]]) {
    const response = await app.inject({ url: '/reports', headers: { 'x-api-key': value } })
    t.equal(response.statusCode, 400)
    t.equal(response.headers['www-authenticate'], HEADER_CHALLENGE)
    t.same(response.json(), malformed)
  }
  const longest = await app.inject({ url: '/reports', headers: { 'x-api-key': 'x'.repeat(4096) } })
  t.equal(longest.statusCode, 401, 'a 4096-character key is checked, not refused as malformed')
})

t.test('header: a header sent twice on the wire (Node joins them) is 400', async (t) => {
  const app = await headerApp(t)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as AddressInfo
  const status = await new Promise<number>((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path: '/reports', headers: ['X-API-Key', KEY, 'X-API-Key', KEY] as unknown as Record<string, string> }, (response) => {
      response.resume()
      resolve(response.statusCode as number)
    })
    request.on('error', reject)
    request.end()
  })
  t.equal(status, 400)
})

t.test('query: a key in a query parameter', async (t) => {
  const verify = staticApiKeys([KEY, OTHER_KEY])
  const { app } = await buildSchemeApp({ securitySchemes: { QueryKey: apiKey({ in: 'query', name: 'api_key', verify }) } }, (app) => {
    app.get('/q', { schema: { security: [{ QueryKey: [] }] } }, whoami)
  })
  t.teardown(() => app.close())
  const challenge = 'APIKey realm="api", in="query", name="api_key"'

  const ok = await app.inject({ url: `/q?api_key=${OTHER_KEY}` })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { scheme: 'QueryKey', principal: { index: 1 }, scopes: [] })

  const missing = await app.inject({ url: '/q?other=1' })
  t.equal(missing.statusCode, 401)
  t.equal(missing.headers['www-authenticate'], challenge)

  const empty = await app.inject({ url: '/q?api_key=' })
  t.equal(empty.statusCode, 401)
  t.equal(empty.json().code, 'FST_OAUTH2_MISSING_CREDENTIALS')

  const repeated = await app.inject({ url: `/q?api_key=${KEY}&api_key=${KEY}` })
  t.equal(repeated.statusCode, 400)
  t.same(repeated.json(), errorBody(400, 'FST_OAUTH2_MALFORMED_CREDENTIALS', 'The API key query parameter is malformed or repeated'))

  const wrong = await app.inject({ url: '/q?api_key=nope-nope-nope-nope' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'FST_OAUTH2_INVALID_CREDENTIALS')
})

t.test('cookie: a key in a cookie, quoted or not; two cookies of that name are 400', async (t) => {
  const seen: string[] = []
  const verify = (key: string) => {
    seen.push(key)
    return key === KEY ? { client: 'cookie' } : null
  }
  const { app } = await buildSchemeApp({ securitySchemes: { CookieKey: apiKey({ in: 'cookie', name: 'session_key', verify, realm: 'cookies' }) } }, (app) => {
    app.get('/c', { schema: { security: [{ CookieKey: [] }] } }, whoami)
  })
  t.teardown(() => app.close())
  const challenge = 'APIKey realm="cookies", in="cookie", name="session_key"'

  for (const cookie of [`session_key=${KEY}`, `a=1; session_key="${KEY}"; b=2`, `theme=dark;session_key=${KEY}`]) {
    const response = await app.inject({ url: '/c', headers: { cookie } })
    t.equal(response.statusCode, 200, cookie)
    t.same(response.json().principal, { client: 'cookie' })
  }
  t.same(seen, [KEY, KEY, KEY], 'verify receives the key without quotes')

  for (const cookie of ['a=1; b=2', 'session_key_2=x', 'session_key', 'session_key=']) {
    const response = await app.inject({ url: '/c', headers: { cookie } })
    t.equal(response.statusCode, 401, cookie)
    t.equal(response.headers['www-authenticate'], challenge)
    t.equal(response.json().code, 'FST_OAUTH2_MISSING_CREDENTIALS')
  }
  const noCookie = await app.inject({ url: '/c' })
  t.equal(noCookie.statusCode, 401)

  const twice = await app.inject({ url: '/c', headers: { cookie: `session_key=${KEY}; session_key=${OTHER_KEY}` } })
  t.equal(twice.statusCode, 400)
  t.same(twice.json(), errorBody(400, 'FST_OAUTH2_MALFORMED_CREDENTIALS', 'The API key cookie is malformed or repeated'))
})

t.test('verify gets the request, may be async, and may refuse with a catalogue error', async (t) => {
  const { app } = await buildSchemeApp({
    securitySchemes: {
      ApiKey: apiKey({
        in: 'header',
        name: 'X-API-Key',
        async verify (key, request) {
          if (key === 'revoked-key-0123456789') throw new MalformedCredentialsError('This key was revoked')
          return key === KEY && request.url === '/reports' ? { client: 'async' } : undefined
        }
      })
    }
  }, (app) => {
    app.get('/reports', { schema: { security: [{ ApiKey: [] }] } }, whoami)
  })
  t.teardown(() => app.close())
  const ok = await app.inject({ url: '/reports', headers: { 'x-api-key': KEY } })
  t.same(ok.json(), { scheme: 'ApiKey', principal: { client: 'async' }, scopes: [] })
  const revoked = await app.inject({ url: '/reports', headers: { 'x-api-key': 'revoked-key-0123456789' } })
  t.equal(revoked.statusCode, 400)
  t.same(revoked.json(), errorBody(400, 'FST_OAUTH2_MALFORMED_CREDENTIALS', 'This key was revoked'))
  t.equal(revoked.headers['www-authenticate'], HEADER_CHALLENGE)
  const undef = await app.inject({ url: '/reports', headers: { 'x-api-key': OTHER_KEY } })
  t.equal(undef.statusCode, 401)
})

t.test('OpenAPI: the apiKey scheme and the route requirement, exactly', async (t) => {
  const app = await headerApp(t)
  const document = openapi(app)
  t.same(document.components.securitySchemes.ApiKey, { type: 'apiKey', name: 'X-API-Key', in: 'header', description: 'Reports key' })
  t.same(document.paths['/reports']?.get?.security, [{ ApiKey: [] }])
  t.ok(document.paths['/reports']?.get?.responses['401'], 'the 401 answer is documented')
  t.notOk(document.paths['/reports']?.get?.responses['403'], 'no scope, no 403')

  const { app: queryApp } = await buildSchemeApp({ securitySchemes: { Q: apiKey({ in: 'query', name: 'key', verify: () => null }), C: apiKey({ in: 'cookie', name: 'k', verify: () => null }) } }, () => {})
  t.teardown(() => queryApp.close())
  const schemes = openapi(queryApp).components.securitySchemes
  t.same(schemes.Q, { type: 'apiKey', name: 'key', in: 'query' })
  t.same(schemes.C, { type: 'apiKey', name: 'k', in: 'cookie' })
})

t.test('API keys carry no scopes: requiring one fails at startup', async (t) => {
  await t.rejects(buildSchemeApp({ securitySchemes: { ApiKey: apiKey({ in: 'header', name: 'X-API-Key', verify: () => null }) } }, (app) => {
    app.get('/r', { schema: { security: [{ ApiKey: ['items'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
})

t.test('bad options are refused when the factory is called', async (t) => {
  const verify = () => null
  const bad: Array<[unknown, string]> = [
    [undefined, 'apiKey()'],
    [{ in: 'body', name: 'k', verify }, 'apiKey().in'],
    [{ in: 'header', name: '', verify }, 'apiKey().name'],
    [{ in: 'header', name: 'X Key', verify }, 'apiKey().name'],
    [{ in: 'query', name: 42, verify }, 'apiKey().name'],
    [{ in: 'header', name: 'k' }, 'apiKey().verify'],
    [{ in: 'header', name: 'k', verify, description: '' }, 'apiKey().description'],
    [{ in: 'header', name: 'k', verify, realm: 'a"b' }, 'apiKey().realm']
  ]
  for (const [options, option] of bad) {
    t.throws(() => apiKey(options as Parameters<typeof apiKey>[0]), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replace(/[()]/g, '\\$&')}:`) }, option)
  }
})

t.test('staticApiKeys: principals by key, positions for a list, strict validation', async (t) => {
  const byKey = staticApiKeys({ [KEY]: { client: 'a' }, [OTHER_KEY]: { client: 'b' } })
  t.same(byKey(KEY), { client: 'a' })
  t.same(byKey(OTHER_KEY), { client: 'b' })
  t.equal(byKey('demo-key-0123456789abcdeX'), null)
  t.equal(byKey(''), null)
  const byList = staticApiKeys([KEY, OTHER_KEY])
  t.same(byList(OTHER_KEY), { index: 1 })
  t.equal(byList('unknown-key-0123456789'), null)

  const bad: unknown[] = [
    [], {}, 'a-key-of-plenty-characters', null, ['short'], ['has space in the middle'], [KEY, KEY], { [KEY]: null }, [42]
  ]
  for (const keys of bad) {
    t.throws(() => staticApiKeys(keys as string[]), { code: 'FST_OAUTH2_INVALID_OPTION' }, JSON.stringify(keys))
  }
  // An unset environment variable as the key: the error names that, not the key's length
  const unset = process.env.FASTIFY_OAUTH2_PASSWORD_UNSET_TEST_KEY
  t.throws(() => staticApiKeys({ [String(unset)]: { client: 'reports' } }), { message: /got an undefined key: is the environment variable that holds it set\?/ })
  t.throws(() => staticApiKeys(['']), { message: /got an empty key/ })
})
