import { Buffer } from 'node:buffer'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import t, { type Test } from 'tap'
import { REDACTED_URLS } from '../helpers/log-secrets.js'
import { formatChallenge } from '../../lib/protocol/challenge.js'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { buildApp, login, SECRET, type TestApp } from '../helpers/build-app.js'
import { hs256Token } from '../helpers/forged-tokens.js'

// RFC 6750 (Bearer Token Usage) as a protected resource answers it: where tokens are
// read from (§2), and the status, WWW-Authenticate challenge (§3) and body of every refusal.

const REALM_ONLY = 'Bearer realm="api"'
const ME_ITEMS = [{ OAuth2PasswordBearer: ['me', 'items'] }]

function challenge (error: string, description: string, scope?: string): string {
  return `Bearer realm="api", error="${error}", error_description="${description}"${scope === undefined ? '' : `, scope="${scope}"`}`
}

const MISSING = { statusCode: 401, code: 'FST_OAUTH2_MISSING_CREDENTIALS', error: 'Unauthorized', message: 'Not authenticated' }

function malformed (message: string) {
  return { statusCode: 400, code: 'FST_OAUTH2_MALFORMED_CREDENTIALS', error: 'Bad Request', message }
}

function invalidToken (message: string) {
  return { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message }
}

const BAD_HEADER = 'The Authorization header is not a valid Bearer credential'

/** An app with `GET /items` (scopes me + items) and `GET /public`. */
async function itemsApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}, setup: (app: FastifyInstance) => void = () => {}, serverOptions: FastifyServerOptions = {}): Promise<TestApp> {
  const built = await buildApp(options, (app) => {
    app.get('/items', { schema: { security: ME_ITEMS } }, async function items (request) {
      const user = await request.currentUser()
      return { owner: user.id }
    })
    app.get('/public', async function publicRoute () {
      return { public: true }
    })
    setup(app)
  }, serverOptions)
  t.teardown(() => built.app.close())
  return built
}

/** Asserts one refusal: status, challenge, body, and that the token is nowhere in the answer. */
async function assertRefusal (
  t: Test,
  app: FastifyInstance,
  request: { url?: string, headers?: Record<string, string>, method?: 'GET' },
  expected: { statusCode: number, challenge: string, body: unknown },
  secret?: string
): Promise<void> {
  const response = await app.inject({ method: request.method ?? 'GET', url: request.url ?? '/items', headers: request.headers ?? {} })
  t.equal(response.statusCode, expected.statusCode, 'status')
  t.equal(response.headers['www-authenticate'], expected.challenge, 'challenge')
  t.same(response.json(), expected.body, 'body')
  t.equal(response.headers['cache-control'], undefined, 'no cache directive invented')
  if (secret !== undefined) {
    t.notOk(JSON.stringify(response.headers).includes(secret), 'token not echoed in a header')
    t.notOk(response.body.includes(secret), 'token not echoed in the body')
  }
}

// ---------------------------------------------------------------------------
// Hand-made access tokens (node:crypto only), for the cases login cannot produce
// ---------------------------------------------------------------------------

function forge (claims: Record<string, unknown>, secret = SECRET): string {
  return hs256Token(claims, secret)
}

function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { sub: 'johndoe', scope: 'me items', iat: now - 10, exp: now + 600, jti: 'c2VjcmV0LWp0aS12YWx1ZQ', ...overrides }
}

/** A deterministic generator (mulberry32), so a failing garbage case can be replayed. */
function random (seed: number): () => number {
  return function next () {
    seed = (seed + 0x6d2b79f5) | 0
    let value = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296
  }
}

// ---------------------------------------------------------------------------

t.test('RFC 6750 §3: no credentials', async (t) => {
  t.test('no Authorization header: 401 with a bare realm challenge (§3.1: no error code)', async (t) => {
    const { app } = await itemsApp(t)
    await assertRefusal(t, app, {}, { statusCode: 401, challenge: REALM_ONLY, body: MISSING })
  })

  t.test('another scheme in Authorization (Basic) counts as no bearer credentials', async (t) => {
    const { app } = await itemsApp(t)
    const basic = `Basic ${Buffer.from('johndoe:secret').toString('base64')}`
    await assertRefusal(t, app, { headers: { authorization: basic } }, { statusCode: 401, challenge: REALM_ONLY, body: MISSING })
  })

  t.test('a scheme that merely starts with "Bearer" is another scheme', async (t) => {
    const { app } = await itemsApp(t)
    await assertRefusal(t, app, { headers: { authorization: 'Bearerx abc' } }, { statusCode: 401, challenge: REALM_ONLY, body: MISSING })
  })

  t.test('a realm option shows in the challenge', async (t) => {
    const { app } = await itemsApp(t, { realm: 'items api' })
    await assertRefusal(t, app, {}, { statusCode: 401, challenge: 'Bearer realm="items api"', body: MISSING })
  })

  t.test('HEAD of a protected GET route is refused the same way, without a body', async (t) => {
    const { app } = await itemsApp(t)
    const response = await app.inject({ method: 'HEAD', url: '/items' })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], REALM_ONLY)
    t.equal(response.body, '')
  })
})

t.test('RFC 6750 §2.1: the Authorization header', async (t) => {
  t.test('accepted spellings', async (t) => {
    const { app } = await itemsApp(t)
    const token = await login(app)
    for (const authorization of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `BeArEr ${token}`, `Bearer    ${token}`]) {
      const response = await app.inject({ url: '/items', headers: { authorization } })
      t.equal(response.statusCode, 200, authorization.slice(0, 12))
      t.same(response.json(), { owner: 'johndoe' })
      t.equal(response.headers['www-authenticate'], undefined)
    }
  })

  t.test('b64token characters, padding included, reach the verifier', async (t) => {
    const { app } = await itemsApp(t)
    for (const token of ['zq-._~+/zq', 'zqzq==', 'q']) {
      await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } },
        { statusCode: 401, challenge: challenge('invalid_token', 'The access token is invalid'), body: invalidToken('The access token is invalid') }, token)
    }
  })

  t.test('malformed credentials: 400 invalid_request', async (t) => {
    const { app } = await itemsApp(t)
    const token = await login(app)
    const cases: Record<string, string> = {
      'scheme alone': 'Bearer',
      'scheme and spaces': 'Bearer    ',
      'two tokens': 'Bearer a b',
      'a space inside the token': `Bearer ${token.slice(0, 20)} ${token.slice(20)}`,
      'tab instead of space': `Bearer\t${token}`,
      'comma after the scheme': `Bearer,${token}`,
      'quoted token': `Bearer "${token}"`,
      'dollar sign': 'Bearer abc$def',
      'padding in the middle': 'Bearer ab=cd',
      'non-ASCII character': 'Bearer abc\u00e9def',
      'auth-param syntax': 'Bearer realm="api"',
      '10 KB token': `Bearer ${'a'.repeat(10 * 1024)}`,
      '10 KB of spaces': `Bearer${' '.repeat(10 * 1024)}x y`,
      'a real token with garbage appended': `Bearer ${token}!`
    }
    for (const [name, authorization] of Object.entries(cases)) {
      t.test(name, async (t) => {
        await assertRefusal(t, app, { headers: { authorization } },
          { statusCode: 400, challenge: challenge('invalid_request', BAD_HEADER), body: malformed(BAD_HEADER) }, token)
      })
    }
  })

  t.test('random garbage never gets a 5xx', async (t) => {
    const { app } = await itemsApp(t)
    const next = random(6750)
    const prefixes = ['', 'Bearer ', 'bearer', 'Bearer  ', 'Basic ']
    for (let i = 0; i < 40; i++) {
      const length = Math.floor(next() * 300)
      let garbage = prefixes[i % prefixes.length] as string
      // Visible ASCII, space and tab: every byte a header value may carry through light-my-request
      for (let c = 0; c < length; c++) garbage += String.fromCharCode(next() < 0.05 ? 9 : 32 + Math.floor(next() * 95))
      const response = await app.inject({ url: '/items', headers: { authorization: garbage } })
      t.ok([400, 401].includes(response.statusCode), `case ${i}: ${response.statusCode}`)
      t.match(response.headers['www-authenticate'], /^Bearer realm="api"/, `case ${i}: challenge`)
      t.match(response.json(), { code: /^FST_OAUTH2_(MISSING_CREDENTIALS|MALFORMED_CREDENTIALS|INVALID_TOKEN)$/ }, `case ${i}: code`)
    }
  })
})

t.test('RFC 6750 §3.1 invalid_token: 401', async (t) => {
  const cases: Record<string, [() => string, string]> = {
    'not a JWT': [() => 'not-a-jwt', 'The access token is invalid'],
    expired: [() => forge(claims({ iat: 1_600_000_000, exp: 1_600_000_600 })), 'The access token expired'],
    'not yet valid (nbf)': [() => forge(claims({ nbf: Math.floor(Date.now() / 1000) + 3600 })), 'The access token is not valid yet'],
    'signed with another secret': [() => forge(claims(), 'another-secret-that-is-at-least-32-bytes'), 'The access token signature is invalid'],
    'scope claim missing': [() => forge(claims({ scope: undefined })), 'The access token claims are invalid']
  }
  for (const [name, [make, description]] of Object.entries(cases)) {
    t.test(name, async (t) => {
      const { app } = await itemsApp(t)
      const token = make()
      await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } },
        { statusCode: 401, challenge: challenge('invalid_token', description), body: invalidToken(description) }, token)
    })
  }

  t.test('a well-signed token of another user id than any known user', async (t) => {
    const { app } = await itemsApp(t)
    const token = forge(claims({ sub: 'nobody' }))
    const description = 'The user of this token is unknown or disabled'
    await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } },
      { statusCode: 401, challenge: challenge('invalid_token', description), body: invalidToken(description) }, token)
  })

  t.test('the token of a user deleted after login', async (t) => {
    const { app, users } = await itemsApp(t)
    const token = await login(app)
    users.delete('johndoe')
    const description = 'The user of this token is unknown or disabled'
    await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } },
      { statusCode: 401, challenge: challenge('invalid_token', description), body: invalidToken(description) }, token)
  })

  t.test('the token of a user disabled after login', async (t) => {
    const { app, users } = await itemsApp(t)
    const token = await login(app)
    const before = await app.inject({ url: '/items', headers: { authorization: `Bearer ${token}` } })
    t.equal(before.statusCode, 200)
    ;(users.get('johndoe') as { disabled?: boolean }).disabled = true
    const description = 'The user of this token is unknown or disabled'
    await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } },
      { statusCode: 401, challenge: challenge('invalid_token', description), body: invalidToken(description) }, token)
  })
})

t.test('RFC 6750 §3.1 insufficient_scope: 403 naming the required scope', async (t) => {
  t.test('a token without "items"', async (t) => {
    const { app } = await itemsApp(t)
    const token = await login(app, 'bob')
    await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } }, {
      statusCode: 403,
      challenge: challenge('insufficient_scope', 'Not enough permissions', 'me items'),
      body: { statusCode: 403, code: 'FST_OAUTH2_INSUFFICIENT_SCOPE', error: 'Forbidden', message: 'Not enough permissions' }
    }, token)
  })

  t.test('a token narrowed at login to fewer scopes than the user has', async (t) => {
    const { app } = await itemsApp(t)
    const token = await login(app, 'johndoe', 'me')
    await assertRefusal(t, app, { headers: { authorization: `Bearer ${token}` } }, {
      statusCode: 403,
      challenge: challenge('insufficient_scope', 'Not enough permissions', 'me items'),
      body: { statusCode: 403, code: 'FST_OAUTH2_INSUFFICIENT_SCOPE', error: 'Forbidden', message: 'Not enough permissions' }
    }, token)
  })
})

t.test('RFC 6750 §2.3: the access_token query parameter', async (t) => {
  t.test('ignored by default (the URI method is opt-in)', async (t) => {
    // A parameter the plugin does not read is logged like any other: the app redacts it
    const { app } = await itemsApp(t, {}, () => {}, REDACTED_URLS)
    const token = await login(app)
    await assertRefusal(t, app, { url: `/items?access_token=${token}` }, { statusCode: 401, challenge: REALM_ONLY, body: MISSING }, token)
  })

  t.test('accepted when configured', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token' } })
    const token = await login(app)
    const response = await app.inject({ url: `/items?access_token=${token}` })
    t.equal(response.statusCode, 200)
    t.same(response.json(), { owner: 'johndoe' })
  })

  t.test('configured but absent: no credentials', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token' } })
    await assertRefusal(t, app, {}, { statusCode: 401, challenge: REALM_ONLY, body: MISSING })
  })

  t.test('malformed, empty or repeated: 400 invalid_request', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token' } })
    const token = await login(app)
    const message = 'The access token query parameter is malformed'
    for (const query of [`access_token=${token}%20x`, 'access_token=', `access_token=${token}&access_token=${token}`, `access_token=${'a'.repeat(9000)}`]) {
      await assertRefusal(t, app, { url: `/items?${query}` }, { statusCode: 400, challenge: challenge('invalid_request', message), body: malformed(message) }, token)
    }
  })

  t.test('header and query together: 400 (§2: one method per request)', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token' } })
    const token = await login(app)
    const message = 'The access token was sent by more than one method'
    await assertRefusal(t, app, { url: `/items?access_token=${token}`, headers: { authorization: `Bearer ${token}` } },
      { statusCode: 400, challenge: challenge('invalid_request', message), body: malformed(message) }, token)
  })

  t.test('an invalid token in the query: 401 invalid_token', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token' } })
    const token = forge(claims(), 'another-secret-that-is-at-least-32-bytes')
    const description = 'The access token signature is invalid'
    await assertRefusal(t, app, { url: `/items?access_token=${token}` },
      { statusCode: 401, challenge: challenge('invalid_token', description), body: invalidToken(description) }, token)
  })
})

t.test('the access-token cookie', async (t) => {
  t.test('ignored by default', async (t) => {
    const { app } = await itemsApp(t)
    const token = await login(app)
    await assertRefusal(t, app, { headers: { cookie: `access_token=${token}` } }, { statusCode: 401, challenge: REALM_ONLY, body: MISSING }, token)
  })

  t.test('accepted when configured, among other cookies', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { cookie: 'access_token' } })
    const token = await login(app)
    for (const cookie of [`access_token=${token}`, `theme=dark; access_token=${token}; lang=en`, `flag; access_token= ${token} `]) {
      const response = await app.inject({ url: '/items', headers: { cookie } })
      t.equal(response.statusCode, 200, cookie.slice(0, 20))
      t.same(response.json(), { owner: 'johndoe' })
    }
  })

  t.test('absent or unusable cookies count as no credentials', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { cookie: 'access_token' } })
    const cookies: Array<Record<string, string>> = [{}, { cookie: 'theme=dark' }, { cookie: 'access_token="quoted"' }, { cookie: 'access_token=' }, { cookie: `access_token=${'a'.repeat(9000)}` }]
    for (const headers of cookies) {
      await assertRefusal(t, app, { headers }, { statusCode: 401, challenge: REALM_ONLY, body: MISSING })
    }
  })

  t.test('a header token takes precedence over the cookie (browsers send cookies unasked)', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { cookie: 'access_token' } })
    const token = await login(app)
    const response = await app.inject({ url: '/items', headers: { cookie: 'access_token=stale.cookie.token', authorization: `Bearer ${token}` } })
    t.equal(response.statusCode, 200)
  })

  t.test('the header decides: a refused header token is not rescued by a good cookie', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { cookie: 'access_token' } })
    const token = await login(app)
    const forged = 'zq-._~+/zq'
    await assertRefusal(t, app, { headers: { cookie: `access_token=${token}`, authorization: `Bearer ${forged}` } },
      { statusCode: 401, challenge: challenge('invalid_token', 'The access token is invalid'), body: invalidToken('The access token is invalid') }, forged)
  })

  t.test('header and query together: 400', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token' } })
    const token = await login(app)
    const message = 'The access token was sent by more than one method'
    await assertRefusal(t, app, { url: `/items?access_token=${token}`, headers: { authorization: `Bearer ${token}` } },
      { statusCode: 400, challenge: challenge('invalid_request', message), body: malformed(message) }, token)
  })

  t.test('query and cookie both configured: header alone still works', async (t) => {
    const { app } = await itemsApp(t, { bearerToken: { query: 'access_token', cookie: 'access_token' } })
    const token = await login(app)
    const response = await app.inject({ url: '/items', headers: { authorization: `Bearer ${token}` } })
    t.equal(response.statusCode, 200)
  })
})

t.test('a custom error handler still gets the challenge on the reply', async (t) => {
  const { app } = await itemsApp(t, {}, (app) => {
    // Keeps Fastify's error shape: protected routes document (and so serialize) 401 and 403 bodies in that shape
    app.setErrorHandler(function customErrorHandler (error: { statusCode?: number, code?: string }, _request, reply) {
      const statusCode = error.statusCode ?? 500
      reply.code(statusCode).send({ statusCode, code: error.code, error: 'Custom', message: 'handled by the app' })
    })
  })
  const token = await login(app, 'bob')
  const cases: Array<[Record<string, string>, number, string, string]> = [
    [{}, 401, REALM_ONLY, 'FST_OAUTH2_MISSING_CREDENTIALS'],
    [{ authorization: 'Bearer a b' }, 400, challenge('invalid_request', BAD_HEADER), 'FST_OAUTH2_MALFORMED_CREDENTIALS'],
    [{ authorization: 'Bearer abc' }, 401, challenge('invalid_token', 'The access token is invalid'), 'FST_OAUTH2_INVALID_TOKEN'],
    [{ authorization: `Bearer ${token}` }, 403, challenge('insufficient_scope', 'Not enough permissions', 'me items'), 'FST_OAUTH2_INSUFFICIENT_SCOPE']
  ]
  for (const [headers, status, expected, code] of cases) {
    const response = await app.inject({ url: '/items', headers })
    t.equal(response.statusCode, status)
    t.equal(response.headers['www-authenticate'], expected)
    t.same(response.json(), { statusCode: status, code, error: 'Custom', message: 'handled by the app' })
  }
})

t.test('unprotected routes ignore credentials entirely', async (t) => {
  const { app } = await itemsApp(t)
  for (const authorization of ['Bearer a b', 'Bearer abc', 'Basic xyz']) {
    const response = await app.inject({ url: '/public', headers: { authorization } })
    t.equal(response.statusCode, 200)
    t.same(response.json(), { public: true })
    t.equal(response.headers['www-authenticate'], undefined)
  }
})

t.test('formatChallenge (RFC 7235 §4.1)', async (t) => {
  t.equal(formatChallenge('Bearer', {}), 'Bearer', 'no parameters: the scheme alone')
  t.equal(formatChallenge('Bearer', { realm: undefined, scope: undefined }), 'Bearer', 'undefined parameters are left out')
  t.equal(formatChallenge('Basic', { realm: 'api', charset: 'UTF-8' }), 'Basic realm="api", charset="UTF-8"')
  t.equal(formatChallenge('Bearer', { realm: 'say "hi" \\o/' }), 'Bearer realm="say \\"hi\\" \\\\o/"', 'quoted-pair escapes (RFC 7230 §3.2.6)')
})
