import t, { type Test } from 'tap'
import { memoryTokenStore, type OAuth2PasswordOptions, type RotationRequest, type TokenStore } from '../../lib/index.js'
import { fakeClock, getMe as me, loginTokens as login, meApp, refreshGrant as refresh, type Tokens } from '../helpers/build-app.js'

// RFC 9700 §4.14.2 (refresh token rotation and reuse detection) and the lifetimes of a
// refresh-token family, through the token endpoint and a protected route.

const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }
const REVOKED = 'Bearer realm="api", error="invalid_token", error_description="The access token has been revoked"'
const DAY = 86_400_000

/** An app with GET /me, refresh tokens on, and its log lines (warn and above) kept in `logs`. */
async function rotationApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}) {
  return await meApp(t, { refreshTokens: true, ...options }, 'warn')
}

t.test('each use rotates: the new token works, the old one is dead', async (t) => {
  const { app } = await rotationApp(t)
  let current = (await login(app)).refresh_token
  const seen = new Set([current])
  for (let i = 0; i < 5; i++) {
    const response = await refresh(app, current)
    t.equal(response.statusCode, 200)
    current = response.json().refresh_token
    t.notOk(seen.has(current), 'never a token seen before')
    seen.add(current)
  }
})

t.test('a reused token revokes its whole family (RFC 9700 §4.14.2)', async (t) => {
  const { app, logs } = await rotationApp(t, { revocation: { checkAccessTokens: true } })
  const first = await login(app)
  const second = (await refresh(app, first.refresh_token)).json() as Tokens
  const third = (await refresh(app, second.refresh_token)).json() as Tokens
  const other = await login(app)
  t.equal((await me(app, third.access_token)).statusCode, 200)

  const reuse = await refresh(app, first.refresh_token)
  t.equal(reuse.statusCode, 400)
  t.same(reuse.json(), INVALID_GRANT)
  t.same((await refresh(app, third.refresh_token)).json(), INVALID_GRANT, 'the newest token of the family is dead too')
  for (const token of [first, second, third]) {
    const response = await me(app, token.access_token)
    t.equal(response.statusCode, 401, 'the family\'s access tokens are revoked (sid)')
    t.equal(response.headers['www-authenticate'], REVOKED)
  }
  t.equal((await refresh(app, other.refresh_token)).statusCode, 200, 'another login of the same user is untouched')

  const warnings = logs.filter((line) => line.level === 40)
  t.equal(warnings.length, 1)
  t.match(warnings[0], { msg: 'fastify-oauth2-password: refresh token reused; its family is revoked', userId: 'johndoe', clientId: null })
  const logged = JSON.stringify(logs)
  for (const token of [first, second, third]) {
    t.notOk(logged.includes(token.refresh_token.split('.')[0] as string), 'no refresh token (nor its handle) in the logs')
  }
})

t.test('without access-token checks, a revoked family still ends its refresh tokens', async (t) => {
  const { app } = await rotationApp(t)
  const first = await login(app)
  const second = (await refresh(app, first.refresh_token)).json() as Tokens
  t.same((await refresh(app, first.refresh_token)).json(), INVALID_GRANT)
  t.same((await refresh(app, second.refresh_token)).json(), INVALID_GRANT)
  t.equal((await me(app, second.access_token)).statusCode, 200, 'access tokens live on until their exp: documented')
})

t.test('50 concurrent refreshes of one token: exactly one succeeds, and the race ends the family', async (t) => {
  const { app } = await rotationApp(t)
  const { refresh_token: token } = await login(app)
  const responses = await Promise.all(Array.from({ length: 50 }, () => refresh(app, token)))
  const winners = responses.filter((response) => response.statusCode === 200)
  t.equal(winners.length, 1)
  for (const response of responses.filter((response) => response.statusCode !== 200)) {
    t.equal(response.statusCode, 400)
    t.same(response.json(), INVALID_GRANT)
  }
  t.same((await refresh(app, (winners[0]?.json() as Tokens).refresh_token)).json(), INVALID_GRANT, 'the server cannot tell a race from a theft: no grace by default')
})

t.test('reuseGrace: a retry of the token just replaced is refused without ending the family', async (t) => {
  const { app } = await rotationApp(t, { refreshTokens: { reuseGrace: '5s' } })
  const clock = fakeClock(t)
  const { refresh_token: token } = await login(app)
  const responses = await Promise.all(Array.from({ length: 20 }, () => refresh(app, token)))
  const winners = responses.filter((response) => response.statusCode === 200)
  t.equal(winners.length, 1, 'still exactly one winner')
  t.equal(responses.filter((response) => response.statusCode === 400 && response.json().error === 'invalid_grant').length, 19)
  const next = (winners[0]?.json() as Tokens).refresh_token
  const kept = await refresh(app, next)
  t.equal(kept.statusCode, 200, 'the winner\'s token works')
  clock.advance(5000)
  t.same((await refresh(app, next)).json(), INVALID_GRANT, 'after the grace, a reuse…')
  t.same((await refresh(app, (kept.json() as Tokens).refresh_token)).json(), INVALID_GRANT, '…ends the family')
})

t.test('idle lifetime: a family unused for idleTtl dies; each use slides it', async (t) => {
  const { app } = await rotationApp(t, { refreshTokens: { idleTtl: '1d', absoluteTtl: '30d' } })
  const clock = fakeClock(t)
  let token = (await login(app)).refresh_token
  for (let day = 0; day < 3; day++) {
    clock.advance(DAY - 1000)
    const response = await refresh(app, token)
    t.equal(response.statusCode, 200, `used just before the idle deadline (${day})`)
    token = response.json().refresh_token
  }
  clock.advance(DAY)
  t.same((await refresh(app, token)).json(), INVALID_GRANT, 'unused for a whole day')
})

t.test('absolute lifetime: a family dies absoluteTtl after the login, however active', async (t) => {
  const { app } = await rotationApp(t, { refreshTokens: { idleTtl: '1d', absoluteTtl: '2d' } })
  const clock = fakeClock(t)
  let token = (await login(app)).refresh_token
  for (const step of [DAY - 1000, DAY - 1000]) {
    clock.advance(step)
    const response = await refresh(app, token)
    t.equal(response.statusCode, 200)
    token = response.json().refresh_token
  }
  clock.advance(2000)
  t.same((await refresh(app, token)).json(), INVALID_GRANT, 'two days after the login')
})

t.test('an access token is never a refresh token, a refresh token never an access token', async (t) => {
  const { app } = await rotationApp(t)
  const tokens = await login(app)
  t.same((await refresh(app, tokens.access_token)).json(), INVALID_GRANT)
  t.equal((await me(app, tokens.refresh_token)).statusCode, 401)
  t.equal((await refresh(app, tokens.refresh_token)).statusCode, 200, 'neither attempt used the token up')
})

t.test('revokeAllForUser: every token of the user issued before it is dead; later logins work', async (t) => {
  const { app } = await rotationApp(t, { revocation: { checkAccessTokens: true } })
  const phone = await login(app)
  const laptop = await login(app)
  const bob = await login(app, 'bob')
  const started = Date.now()
  await app.oauth2.revokeAllForUser('johndoe')
  t.ok(Date.now() - started <= 1100, 'resolves within a second')
  for (const device of [phone, laptop]) {
    t.same((await refresh(app, device.refresh_token)).json(), INVALID_GRANT)
    const response = await me(app, device.access_token)
    t.equal(response.statusCode, 401)
    t.equal(response.headers['www-authenticate'], REVOKED)
  }
  t.equal((await me(app, bob.access_token)).statusCode, 200, 'other users are untouched')
  t.equal((await refresh(app, bob.refresh_token)).statusCode, 200)
  const fresh = await login(app)
  t.equal((await me(app, fresh.access_token)).statusCode, 200, 'a login right after works')
  t.equal((await refresh(app, fresh.refresh_token)).statusCode, 200)
})

t.test('a rotation whose answer was lost is repeated for a minute: the retry gets the same successor, the family lives', async (t) => {
  const inner = memoryTokenStore()
  let failNextRotation = false
  // As with Redis paused: the rotation is applied, but its answer never reaches the plugin (503)
  const store: TokenStore = Object.assign(Object.create(inner) as TokenStore, {
    async rotate (request: RotationRequest) {
      const outcome = await inner.rotate(request)
      if (!failNextRotation) return outcome
      failNextRotation = false
      throw new Error('Command timed out')
    }
  })
  const clock = fakeClock(t)
  const { app } = await rotationApp(t, { store })
  const first = await login(app)
  failNextRotation = true
  const lost = await refresh(app, first.refresh_token)
  t.equal(lost.statusCode, 503)
  t.equal(lost.headers['retry-after'], '1')
  clock.advance(1000)
  const retried = await refresh(app, first.refresh_token)
  t.equal(retried.statusCode, 200, 'the retry as told succeeds')
  const again = await refresh(app, first.refresh_token)
  t.same(again.json(), INVALID_GRANT, 'once handed out, the old token is a reuse')
  t.same((await refresh(app, retried.json().refresh_token)).json(), INVALID_GRANT, 'which ends the family')

  const second = await login(app)
  failNextRotation = true
  t.equal((await refresh(app, second.refresh_token)).statusCode, 503)
  clock.advance(60_000)
  t.same((await refresh(app, second.refresh_token)).json(), INVALID_GRANT, 'after the retry window, a reuse')
})

t.test('a lost confirmation leaves the rotation repeatable: the same successor again, never an error', async (t) => {
  const store: TokenStore = Object.assign(Object.create(memoryTokenStore()) as TokenStore, {
    async confirmRotation () { throw new Error('Connection is closed.') }
  })
  const { app } = await rotationApp(t, { store })
  const first = await login(app)
  const rotated = await refresh(app, first.refresh_token)
  t.equal(rotated.statusCode, 200)
  const repeated = await refresh(app, first.refresh_token)
  t.equal(repeated.statusCode, 200)
  t.equal(repeated.json().refresh_token, rotated.json().refresh_token, 'the same successor')
})
