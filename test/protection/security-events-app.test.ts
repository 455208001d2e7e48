import { createHash } from 'node:crypto'
import t, { type Test } from 'tap'
import { buildApp, PASSWORD, postForm } from '../helpers/build-app.js'
import { digestHa1, httpDigest, type OAuth2PasswordOptions, type SecurityEvent } from '../../lib/index.js'

// The security events an app sees, through onSecurityEvent (every one of them is also
// checked for secrets by the suite-wide subscriber in test/helpers/build-app.ts).

async function eventApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}) {
  const events: SecurityEvent[] = []
  const { app } = await buildApp({
    refreshTokens: true,
    onSecurityEvent: (event) => { events.push(event) },
    ...options
  }, (app) => {
    app.get('/items', { schema: { security: [{ OAuth2PasswordBearer: ['items'] }] } }, async () => [])
    if (options.securitySchemes?.Digest !== undefined) app.get('/digest', { schema: { security: [{ Digest: [] }] } }, async () => 'ok')
  })
  t.teardown(() => app.close())
  const summary = () => events.map((e) => `${e.event} ${e.reason} ${e.mechanism} user=${e.userId} client=${e.clientId}`)
  return { app, events, summary }
}

t.test('login events: success, each failure reason, lock; with address, client and request id', async (t) => {
  const { app, events, summary } = await eventApp(t, { throttling: { perUsernameAndAddress: { freeAttempts: 3 } } })
  const token = await postForm(app, { username: 'johndoe', password: PASSWORD, client_id: 'web' })
  t.equal(token.statusCode, 200)
  await postForm(app, { username: 'nobody', password: 'wrong', client_id: 'web' })
  await postForm(app, { username: 'johndoe', password: 'wrong' })
  await postForm(app, { username: 'alice', password: PASSWORD })
  for (let i = 0; i < 3; i++) await postForm(app, { username: 'bob', password: 'wrong' })
  t.equal((await postForm(app, { username: 'bob', password: PASSWORD })).statusCode, 429)
  t.same(summary(), [
    'authn_login_success valid_credentials password_grant user=johndoe client=web',
    'authn_login_fail unknown_user password_grant user=null client=web',
    'authn_login_fail wrong_password password_grant user=johndoe client=null',
    'authn_login_fail account_disabled password_grant user=alice client=null',
    'authn_login_fail wrong_password password_grant user=bob client=null',
    'authn_login_fail wrong_password password_grant user=bob client=null',
    'authn_login_fail wrong_password password_grant user=bob client=null',
    'authn_login_lock throttled_username_address password_grant user=null client=null'
  ])
  t.ok(events.every((e) => e.clientAddress === '127.0.0.1' && /^req-/.test(e.requestId)))
})

t.test('the per-address limit is named in the lock event', async (t) => {
  const { app, events } = await eventApp(t, { throttling: { perAddress: { freeAttempts: 2 } } })
  await postForm(app, { username: 'a', password: 'wrong' })
  await postForm(app, { username: 'b', password: 'wrong' })
  t.equal((await postForm(app, { username: 'c', password: 'wrong' })).statusCode, 429)
  t.equal(events.at(-1)?.reason, 'throttled_address')
})

t.test('token events: reuse (with the user), revocation, invalid token, missing scope', async (t) => {
  const { app, summary, events } = await eventApp(t)
  const first = (await postForm(app, { username: 'bob', password: PASSWORD, client_id: 'web' })).json() as { access_token: string, refresh_token: string }
  t.equal((await postForm(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: 'web' })).statusCode, 200)
  const reuse = await postForm(app, { grant_type: 'refresh_token', refresh_token: first.refresh_token, client_id: 'web' })
  t.same(reuse.json(), { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }, 'the same answer as any invalid refresh token')
  t.equal((await postForm(app, { token: first.refresh_token, client_id: 'web' }, {}, '/revoke')).statusCode, 200)
  t.equal((await app.inject({ url: '/items', headers: { authorization: 'Bearer not-a-jwt' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/items', headers: { authorization: `Bearer ${first.access_token}` } })).statusCode, 403, 'bob lacks "items"')
  t.same(summary().slice(1), [
    'authn_token_reuse refresh_token_reuse refresh_token_grant user=bob client=null',
    'authn_token_revoked revocation_request revocation user=null client=web',
    'authn_token_invalid invalid_token bearer user=null client=null',
    'authz_fail insufficient_scope bearer user=null client=null'
  ])
  t.ok(events.every((e) => e.clientAddress === '127.0.0.1'))
})

const REALM = 'digest@example.org'
const H = (data: string) => createHash('sha256').update(data, 'utf8').digest('hex')

t.test('HTTP Digest shares the limits and emits the login events', async (t) => {
  const { app, summary } = await eventApp(t, {
    securitySchemes: {
      Digest: httpDigest({ realm: REALM, findHa1: (username, realm, algorithm) => username === 'Mufasa' ? digestHa1(username, realm, 'Circle of Life', algorithm) : null })
    }
  })
  async function digest (username: string, password: string) {
    const challenge = (await app.inject({ url: '/digest' })).headers['www-authenticate'] as string
    const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] as string
    const opaque = /opaque="([^"]+)"/.exec(challenge)?.[1] as string
    const response = H(`${H(`${username}:${REALM}:${password}`)}:${nonce}:00000001:c:auth:${H('GET:/digest')}`)
    const authorization = `Digest username="${username}", realm="${REALM}", uri="/digest", algorithm=SHA-256, nonce="${nonce}", nc=00000001, cnonce="c", qop=auth, response="${response}", opaque="${opaque}"`
    return await app.inject({ url: '/digest', headers: { authorization } })
  }
  t.equal((await digest('Mufasa', 'Circle of Life')).statusCode, 200)
  t.equal((await digest('Nobody', 'x')).statusCode, 401)
  for (let i = 0; i < 5; i++) t.equal((await digest('Mufasa', 'wrong')).statusCode, 401)
  const refused = await digest('Mufasa', 'Circle of Life')
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '1')
  t.same(summary(), [
    'authn_login_success valid_credentials http_digest user=Mufasa client=null',
    'authn_login_fail unknown_user http_digest user=null client=null',
    ...Array(5).fill('authn_login_fail wrong_password http_digest user=Mufasa client=null'),
    'authn_login_lock throttled_username_address http_digest user=null client=null'
  ])
})
