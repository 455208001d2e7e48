import t, { type Test } from 'tap'
import { httpBasic, hashPassword } from '../../lib/index.js'
import { PASSWORD } from '../helpers/build-app.js'
import { buildSchemeApp, errorBody, openapi, whoami } from '../helpers/scheme-app.js'

const CHALLENGE = 'Basic realm="api", charset="UTF-8"'

function basic (userPass: string, encoding: BufferEncoding = 'utf8'): string {
  return `Basic ${Buffer.from(userPass, encoding).toString('base64')}`
}

async function basicApp (t: Test, options: Parameters<typeof httpBasic>[0] = {}, extra: Parameters<typeof buildSchemeApp>[0] = {}) {
  const built = await buildSchemeApp({ securitySchemes: { Basic: httpBasic(options) }, ...extra }, (app) => {
    app.get('/basic/me', { schema: { security: [{ Basic: [] }] } }, async function me (request) {
      const user = await request.currentUser()
      return { id: user.id, scheme: request.auth?.scheme, scopes: [...request.auth?.scopes ?? []] }
    })
    app.get('/basic/items', { schema: { security: [{ Basic: ['items'] }] } }, whoami)
  })
  t.teardown(() => built.app.close())
  return built
}

t.test('RFC 7617 §2: user-id:password in base64 logs the user in; currentUser() is the user', async (t) => {
  const { app } = await basicApp(t)
  const response = await app.inject({ url: '/basic/me', headers: { authorization: basic(`johndoe:${PASSWORD}`) } })
  t.equal(response.statusCode, 200)
  t.same(response.json(), { id: 'johndoe', scheme: 'Basic', scopes: ['me', 'items'] })
})

t.test('RFC 7235 §2.1: the scheme name is case-insensitive, spaces before the credentials allowed', async (t) => {
  const { app } = await basicApp(t)
  const encoded = Buffer.from(`johndoe:${PASSWORD}`).toString('base64')
  for (const authorization of [`basic ${encoded}`, `BASIC ${encoded}`, `Basic   ${encoded}`]) {
    const response = await app.inject({ url: '/basic/me', headers: { authorization } })
    t.equal(response.statusCode, 200, authorization)
  }
})

t.test('RFC 7617 §2.1: UTF-8 user-ids and passwords, as charset="UTF-8" announces', async (t) => {
  const password = 'pässwörd€'
  const { app, users } = await basicApp(t)
  users.set('jöhn', { id: 'jöhn', username: 'jöhn', fullName: 'Jöhn', passwordHash: await hashPassword(password, { cost: 4 }), scopes: ['me'] })
  const ok = await app.inject({ url: '/basic/me', headers: { authorization: basic(`jöhn:${password}`) } })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { id: 'jöhn', scheme: 'Basic', scopes: ['me'] })
  // The same characters in ISO-8859-1 are not valid UTF-8: malformed, not a different password
  const latin1 = await app.inject({ url: '/basic/me', headers: { authorization: basic('jöhn:pässwörd', 'latin1') } })
  t.equal(latin1.statusCode, 401)
  t.same(latin1.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'The Basic credentials are malformed'))
  t.equal(latin1.headers['www-authenticate'], CHALLENGE)
})

t.test('RFC 7617 §2: a password may contain colons; the user-id ends at the first', async (t) => {
  const { app, users } = await basicApp(t)
  users.set('carol', { id: 'carol', username: 'carol', fullName: 'Carol', passwordHash: await hashPassword('a:b:c', { cost: 4 }), scopes: [] })
  const response = await app.inject({ url: '/basic/me', headers: { authorization: basic('carol:a:b:c') } })
  t.equal(response.statusCode, 200)
})

t.test('no credentials: 401 with Basic realm and charset (RFC 7617 §2, §2.1)', async (t) => {
  const { app } = await basicApp(t)
  for (const headers of [{}, { authorization: 'Bearer abc' }, { authorization: 'Basicx abc' }, { authorization: 'Digest username="x"' }]) {
    const response = await app.inject({ url: '/basic/me', headers })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], CHALLENGE)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_MISSING_CREDENTIALS', 'Not authenticated'))
  }
})

t.test('malformed credentials are 401 (never 400 or 5xx): bad base64, no colon, control characters', async (t) => {
  const { app } = await basicApp(t)
  const malformed = [
    'Basic',
    'Basic ',
    'Basic !!!!',
    'Basic am9obmRvZTpzZWNyZXQ', // padding missing: not canonical
    'Basic am9obmRvZTpzZWNyZXQ===',
    'Basic am9obmRvZTpzZWNyZXR=', // stray bits: does not round-trip
    'Basic am9obmRvZTpz ZWNyZXQ=',
    basic('johndoe'), // no colon
    basic('john\u0000doe:secret'),
    basic('johndoe:sec\u0007ret'),
    basic('johndoe:secret\u007f'),
    `Basic ${Buffer.from([0x6a, 0x3a, 0xff, 0xfe]).toString('base64')}` // not UTF-8
  ]
  for (const authorization of malformed) {
    const response = await app.inject({ url: '/basic/me', headers: { authorization } })
    t.equal(response.statusCode, 401, JSON.stringify(authorization))
    t.equal(response.headers['www-authenticate'], CHALLENGE)
    t.same(response.json(), errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'The Basic credentials are malformed'))
  }
})

t.test('wrong password, unknown user, disabled user, oversized password: one indistinguishable 401', async (t) => {
  const { app } = await basicApp(t)
  const refused = errorBody(401, 'FST_OAUTH2_INVALID_CREDENTIALS', 'Incorrect username or password')
  for (const userPass of ['johndoe:wrong', 'nobody:secret', 'alice:secret', ':secret', 'johndoe:', `johndoe:${'x'.repeat(73)}`]) {
    const response = await app.inject({ url: '/basic/me', headers: { authorization: basic(userPass) } })
    t.equal(response.statusCode, 401, userPass)
    t.equal(response.headers['www-authenticate'], CHALLENGE)
    t.same(response.json(), refused)
  }
})

t.test('an account whose user findById no longer finds, or finds disabled, is refused', async (t) => {
  // An account without a scopes list: no scopes
  const users = new Map([['ghost', { id: 'ghost', passwordHash: await hashPassword(PASSWORD, { cost: 4 }) }]])
  let disabled: boolean | null | undefined = null
  const built = await buildSchemeApp({
    securitySchemes: { Basic: httpBasic() },
    users: {
      findByUsername: (username) => users.get(username) ?? null,
      // A store may answer undefined (a Map's get) as well as null
      findById: async (id) => (disabled === null || disabled === undefined ? disabled : { id, disabled }) as never
    }
  }, (app) => { app.get('/r', { schema: { security: [{ Basic: [] }] } }, whoami) })
  t.teardown(() => built.app.close())
  const headers = { authorization: basic(`ghost:${PASSWORD}`) }
  t.equal((await built.app.inject({ url: '/r', headers })).statusCode, 401)
  disabled = undefined
  t.equal((await built.app.inject({ url: '/r', headers })).statusCode, 401)
  disabled = true
  t.equal((await built.app.inject({ url: '/r', headers })).statusCode, 401)
  disabled = false
  const ok = await built.app.inject({ url: '/r', headers })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { scheme: 'Basic', principal: { id: 'ghost', disabled: false }, scopes: [] })
})

t.test('scopes come from the account, within the declared ones; a missing one is 403', async (t) => {
  const { app, users } = await basicApp(t)
  const ok = await app.inject({ url: '/basic/items', headers: { authorization: basic(`johndoe:${PASSWORD}`) } })
  t.equal(ok.statusCode, 200)
  const bob = await app.inject({ url: '/basic/items', headers: { authorization: basic(`bob:${PASSWORD}`) } })
  t.equal(bob.statusCode, 403)
  t.equal(bob.headers['www-authenticate'], CHALLENGE)
  t.same(bob.json(), errorBody(403, 'FST_OAUTH2_INSUFFICIENT_SCOPE', 'Not enough permissions'))
  const account = users.get('bob')
  if (account !== undefined) account.scopes = ['me', 'admin']
  const undeclared = await app.inject({ url: '/basic/me', headers: { authorization: basic(`bob:${PASSWORD}`) } })
  t.same(undeclared.json().scopes, ['me'], 'an undeclared scope of the account is not granted')
})

t.test('the realm option names the protection space', async (t) => {
  const { app } = await basicApp(t, { realm: 'staff area' })
  const response = await app.inject({ url: '/basic/me' })
  t.equal(response.headers['www-authenticate'], 'Basic realm="staff area", charset="UTF-8"')
})

t.test('bcrypt runs through the shared gate: a full gate is 503 with Retry-After, and the challenge', async (t) => {
  const { app, users } = await basicApp(t, {}, { bcrypt: { cost: 4, maxConcurrent: 1, maxQueue: 1 } })
  // Hold every login at findByUsername until all four have arrived, so they reach bcrypt together
  let release = () => {}
  const barrier = new Promise<void>((resolve) => { release = resolve })
  const lookup = users.get.bind(users)
  let arrived = 0
  users.get = function held (key: string) {
    if (++arrived === 4) release()
    return barrier.then(() => lookup(key))
  } as unknown as typeof users.get
  const requests = Array.from({ length: 4 }, () => app.inject({ url: '/basic/me', headers: { authorization: basic(`johndoe:${PASSWORD}`) } }))
  const responses = await Promise.all(requests)
  const statuses = responses.map((response) => response.statusCode).sort()
  t.same(statuses, [200, 200, 503, 503])
  const refused = responses.find((response) => response.statusCode === 503)
  t.equal(refused?.headers['www-authenticate'], CHALLENGE)
  t.match(refused?.headers['retry-after'], /^\d+$/)
  t.same(refused?.json(), errorBody(503, 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE', 'Too many login attempts in progress, retry later'))
})

t.test('verify option: the app checks the credentials; principal is its result, no scopes, no currentUser', async (t) => {
  const calls: Array<[string, string, string]> = []
  const built = await buildSchemeApp({
    securitySchemes: {
      Basic: httpBasic({
        realm: 'machines',
        description: 'Machine accounts',
        verify: (userId, password, request) => {
          calls.push([userId, password, request.url])
          return userId === 'robot' && password === 'beep' ? { robot: true } : null
        }
      })
    }
  }, (app) => {
    app.get('/m', { schema: { security: [{ Basic: [] }] } }, whoami)
    app.get('/m/user', { schema: { security: [{ Basic: [] }] } }, async (request) => await request.currentUser({ optional: true }))
  })
  t.teardown(() => built.app.close())
  const ok = await built.app.inject({ url: '/m', headers: { authorization: basic('robot:beep') } })
  t.same(ok.json(), { scheme: 'Basic', principal: { robot: true }, scopes: [] })
  t.same(calls, [['robot', 'beep', '/m']])
  const wrong = await built.app.inject({ url: '/m', headers: { authorization: basic('robot:boop') } })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.headers['www-authenticate'], 'Basic realm="machines", charset="UTF-8"')
  const user = await built.app.inject({ url: '/m/user', headers: { authorization: basic('robot:beep') } })
  t.equal(user.statusCode, 200)
  t.equal(user.body, 'null', 'a custom principal is not a user of the store: currentUser() finds no user')
  t.same(openapi(built.app).components.securitySchemes.Basic, { type: 'http', scheme: 'basic', description: 'Machine accounts' })

  await t.rejects(buildSchemeApp({ securitySchemes: { Basic: httpBasic({ verify: () => null }) } }, (app) => {
    app.get('/x', { schema: { security: [{ Basic: ['me'] }] } }, whoami)
  }), { code: 'FST_OAUTH2_UNKNOWN_SCOPE' })
})

t.test('OpenAPI: an http/basic scheme, requirements and answers exactly as enforced', async (t) => {
  const { app } = await basicApp(t)
  const document = openapi(app)
  t.same(document.components.securitySchemes.Basic, { type: 'http', scheme: 'basic' })
  t.same(document.paths['/basic/me']?.get?.security, [{ Basic: [] }])
  t.same(document.paths['/basic/items']?.get?.security, [{ Basic: ['items'] }])
  t.ok(document.paths['/basic/items']?.get?.responses['403'])
})

t.test('bad options are refused when the factory is called', async (t) => {
  for (const [options, option] of [[null, 'httpBasic()'], [{ realm: '' }, 'httpBasic().realm'], [{ realm: 'a\\b' }, 'httpBasic().realm'], [{ verify: 'yes' }, 'httpBasic().verify'], [{ description: 1 }, 'httpBasic().description']] as const) {
    t.throws(() => httpBasic(options as never), { code: 'FST_OAUTH2_INVALID_OPTION', message: new RegExp(`^Invalid option ${option.replace(/[()]/g, '\\$&')}:`) })
  }
})
