import { Buffer } from 'node:buffer'
import { Writable } from 'node:stream'
import t from 'tap'
import { hashPassword } from '../../lib/passwords/bcrypt.js'
import { accountId } from '../../lib/passwords/account-policy.js'
import { isClientId, MAX_CLIENT_ID_LENGTH } from '../../lib/protocol/client-id.js'
import { memoryTokenStore } from '../../lib/stores/memory.js'
import { buildApp, PASSWORD, postForm } from '../helpers/build-app.js'

// Issue 8 §4: a strict canon at the token endpoint's edges: client_id, byte-order
// marks, and user ids that are not strings.

const MALFORMED_CLIENT_ID = { error: 'invalid_request', error_description: 'The client_id parameter is malformed' }

t.test('RFC 6749 Appendix A.1: client_id is 1 to 255 VSCHARs', async (t) => {
  t.ok(isClientId('app'))
  t.ok(isClientId('a'.repeat(MAX_CLIENT_ID_LENGTH)))
  t.notOk(isClientId('a'.repeat(MAX_CLIENT_ID_LENGTH + 1)))
  t.notOk(isClientId(''))
  for (const character of ['\r', '\n', '\t', '\u0000', '\u007f', 'é', '\u2028']) t.notOk(isClientId(`app${character}x`), `U+${character.codePointAt(0)?.toString(16)}`)

  const { app } = await buildApp()
  t.teardown(() => app.close())
  const crlf = await postForm(app, 'username=johndoe&password=secret&client_id=app%0D%0AX')
  t.equal(crlf.statusCode, 400)
  t.same(crlf.json(), MALFORMED_CLIENT_ID, 'CR LF never reaches a token')
  const long = await postForm(app, { username: 'johndoe', password: PASSWORD, client_id: 'x'.repeat(1000) }) // 7,000 needs a larger tokenBodyLimit; 1,000 is already over the bound
  t.equal(long.statusCode, 400)
  t.same(long.json(), MALFORMED_CLIENT_ID)
  const header = await postForm(app, { username: 'johndoe', password: PASSWORD }, { authorization: `Basic ${Buffer.from('app%0A:').toString('base64')}` })
  t.equal(header.statusCode, 401, 'in the Authorization header: invalid_client')
  t.equal(header.json().error, 'invalid_client')
  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD, client_id: 'my app-1.0' })).statusCode, 200, 'spaces and punctuation are VSCHARs')
})

t.test('a UTF-8 byte-order mark before the form is invalid_request', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const payload = Buffer.concat([Buffer.from([0xEF, 0xBB, 0xBF]), Buffer.from(`username=johndoe&password=${PASSWORD}`)])
  const response = await app.inject({ method: 'POST', url: '/token', payload, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_request', error_description: 'The request body starts with a byte order mark' })
})

t.test('a numeric user id (a SQL primary key) is taken as its decimal string, end to end', async (t) => {
  t.equal(accountId(42), '42')
  t.equal(accountId(42n), '42')
  t.equal(accountId('u-1'), 'u-1')
  for (const bad of ['', 1.5, Number.NaN, 2 ** 60, null, undefined, {}, true]) t.equal(accountId(bad), null, String(bad))

  const passwordHash = await hashPassword(PASSWORD, { cost: 4 })
  const seen: unknown[] = []
  const { app } = await buildApp({
    refreshTokens: true,
    users: {
      findByUsername: (username) => username === 'sql' ? { id: 42 as unknown as string, passwordHash, scopes: ['me'] } : null,
      findById: (id) => { seen.push(id); return id === '42' ? { id } : null }
    }
  }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => await request.currentUser())
  })
  t.teardown(() => app.close())
  const login = await postForm(app, { username: 'sql', password: PASSWORD })
  t.equal(login.statusCode, 200)
  const tokens = login.json() as { access_token: string, refresh_token: string }
  t.equal(app.oauth2.verifyAccessToken(tokens.access_token).sub, '42')
  const me = await app.inject({ url: '/me', headers: { authorization: `Bearer ${tokens.access_token}` } })
  t.same(me.json(), { id: '42' })
  t.equal((await postForm(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).statusCode, 200)
  t.ok(seen.every((id) => id === '42'), 'findById always gets the decimal string')
  t.equal((await app.oauth2.issueTokens({ id: 42 as unknown as string }, ['me'])).scope, 'me', 'issueTokens too')
  await t.rejects(app.oauth2.issueTokens({ id: {} as unknown as string }), { code: 'FST_OAUTH2_INVALID_OPTION' })
})

t.test('an id that is neither a string nor an integer: a failed login, logged, nothing written', async (t) => {
  const passwordHash = await hashPassword(PASSWORD, { cost: 4 })
  const store = memoryTokenStore()
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  let started = 0
  const start = store.createFamily.bind(store)
  store.createFamily = async (family) => { started++; await start(family) }
  const { app } = await buildApp({
    refreshTokens: true,
    store,
    users: { findByUsername: () => ({ id: { oid: 1 } as unknown as string, passwordHash, scopes: ['me'] }), findById: () => null }
  }, () => {}, { logger: { level: 'error', stream } })
  t.teardown(() => app.close())
  const response = await postForm(app, { username: 'odd', password: PASSWORD })
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_grant', error_description: 'Incorrect username or password' })
  t.equal(started, 0, 'no refresh family was written')
  t.match(lines.join(''), /id is neither a non-empty string nor an integer/)
})
