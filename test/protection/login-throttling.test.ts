import t, { type Test } from 'tap'
import { buildApp, PASSWORD } from '../helpers/build-app.js'
import { observedStore } from '../helpers/token-stores.js'
import { httpBasic } from '../../lib/index.js'
import type { OAuth2PasswordOptions, SecurityEvent } from '../../lib/index.js'

/** A fake clock (ms): tests move time by hand, never wait. */
function fakeClock (start = Date.UTC(2026, 0, 1)) {
  const clock = { now: start, advance (seconds: number) { clock.now += seconds * 1000 } }
  return clock
}

const THROTTLED = { error: 'temporarily_unavailable', error_description: 'Too many failed logins: retry later' }
const BAD = { error: 'invalid_grant', error_description: 'Incorrect username or password' }

async function throttledApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}) {
  const clock = fakeClock()
  const events: SecurityEvent[] = []
  const lookups: string[] = []
  const { app, users } = await buildApp({
    throttling: { now: () => clock.now },
    onSecurityEvent: (event) => { events.push(event) },
    securitySchemes: { Basic: httpBasic() },
    ...options
  }, (app) => {
    app.get('/basic', { schema: { security: [{ Basic: [] }] } }, async (request) => ({ id: (await request.currentUser()).id }))
  })
  // Count user lookups: a throttled attempt must not reach them (nor, after them, bcrypt)
  const find = users.get.bind(users)
  users.get = (name: string) => { lookups.push(name); return find(name) }
  t.teardown(() => app.close())
  const attempt = (username: string, password: string, remoteAddress = '127.0.0.2') =>
    app.inject({ method: 'POST', url: '/token', remoteAddress, payload: new URLSearchParams({ username, password }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  return { app, clock, events, lookups, attempt }
}

t.test('defaults: 5 free failures per (username, address), then 429 Retry-After before any user lookup or bcrypt', async (t) => {
  const { attempt, lookups } = await throttledApp(t)
  for (let i = 1; i <= 5; i++) {
    const response = await attempt('johndoe', 'wrong')
    t.equal(response.statusCode, 400, `failure ${i}`)
    t.same(response.json(), BAD)
  }
  lookups.length = 0
  const refused = await attempt('johndoe', PASSWORD)
  t.equal(refused.statusCode, 429, 'even the right password waits')
  t.equal(refused.headers['retry-after'], '1')
  t.equal(refused.headers['cache-control'], 'no-store')
  t.same(refused.json(), THROTTLED)
  t.same(lookups, [], 'no user lookup, so no password hashing either')
})

t.test('unknown and known usernames get the same answers, in the same order', async (t) => {
  const { attempt } = await throttledApp(t)
  const sequence = async (username: string, address: string) => {
    const answers: string[] = []
    for (let i = 0; i < 7; i++) {
      const response = await attempt(username, 'wrong', address)
      answers.push(`${response.statusCode} ${response.headers['retry-after'] ?? '-'} ${response.body}`)
    }
    return answers
  }
  t.same(await sequence('nobody-at-all', '127.0.0.3'), await sequence('johndoe', '127.0.0.4'))
  t.same(await sequence('alice', '127.0.0.5'), await sequence('johndoe', '127.0.0.6'), 'a disabled account too')
})

t.test('the back-off doubles after each failure beyond the free ones, and waiting it out lets one attempt through', async (t) => {
  const { attempt, clock } = await throttledApp(t)
  for (let i = 0; i < 5; i++) await attempt('johndoe', 'wrong')
  const waits: string[] = []
  for (let i = 0; i < 5; i++) {
    const refused = await attempt('johndoe', 'wrong')
    t.equal(refused.statusCode, 429)
    waits.push(refused.headers['retry-after'] as string)
    clock.advance(Number(refused.headers['retry-after']))
    t.equal((await attempt('johndoe', 'wrong')).statusCode, 400, 'after the wait the attempt is checked')
  }
  t.same(waits, ['1', '2', '4', '8', '16'])
})

t.test('a success clears the (username, address) count', async (t) => {
  const { attempt } = await throttledApp(t)
  for (let i = 0; i < 4; i++) await attempt('johndoe', 'wrong')
  t.equal((await attempt('johndoe', PASSWORD)).statusCode, 200)
  for (let i = 0; i < 5; i++) t.equal((await attempt('johndoe', 'wrong')).statusCode, 400, 'five free failures again')
  t.equal((await attempt('johndoe', 'wrong')).statusCode, 429)
})

t.test('no lockout of the victim: 30 failures from one address, the right password from another succeeds at once', async (t) => {
  const { attempt, clock } = await throttledApp(t)
  let counted = 0
  while (counted < 30) {
    const response = await attempt('johndoe', 'wrong', '127.0.0.2')
    if (response.statusCode === 400) counted++
    else clock.advance(Number(response.headers['retry-after']))
  }
  t.equal((await attempt('johndoe', 'wrong', '127.0.0.2')).statusCode, 429, 'the attacker\'s address waits')
  const victim = await attempt('johndoe', PASSWORD, '127.0.0.3')
  t.equal(victim.statusCode, 200, 'the victim logs in from elsewhere at once')
})

t.test('per address: 200 usernames with one password each are throttled within 50 (the 21st)', async (t) => {
  const { attempt } = await throttledApp(t)
  let firstRefused = 0
  for (let i = 1; i <= 200 && firstRefused === 0; i++) {
    const response = await attempt(`user${i}`, 'Password1', '127.0.0.7')
    if (response.statusCode === 429) firstRefused = i
  }
  t.equal(firstRefused, 21)
  t.equal((await attempt('johndoe', PASSWORD, '127.0.0.8')).statusCode, 200, 'another address is not affected')
})

t.test('IPv6: one /64 is one address', async (t) => {
  const { attempt } = await throttledApp(t)
  for (let i = 0; i < 5; i++) t.equal((await attempt('johndoe', 'wrong', `2001:db8:1:2::${i + 1}`)).statusCode, 400)
  t.equal((await attempt('johndoe', 'wrong', '2001:db8:1:2:ffff::9')).statusCode, 429)
  t.equal((await attempt('johndoe', 'wrong', '2001:db8:1:3::1')).statusCode, 400, 'another /64')
})

t.test('usernames are counted case-insensitively', async (t) => {
  const { attempt } = await throttledApp(t)
  for (const name of ['johndoe', 'JohnDoe', 'JOHNDOE', 'johnDOE', 'Johndoe']) await attempt(name, 'wrong')
  t.equal((await attempt('JOHNdoe', 'wrong')).statusCode, 429)
})

t.test('HTTP Basic shares the limits of the token endpoint', async (t) => {
  const { app, attempt, events } = await throttledApp(t)
  const basic = (password: string, remoteAddress = '127.0.0.2') => app.inject({ url: '/basic', remoteAddress, headers: { authorization: 'Basic ' + Buffer.from(`johndoe:${password}`).toString('base64') } })
  for (let i = 0; i < 3; i++) await attempt('johndoe', 'wrong')
  for (let i = 0; i < 2; i++) t.equal((await basic('wrong')).statusCode, 401)
  const refused = await basic(PASSWORD)
  t.equal(refused.statusCode, 429)
  t.equal(refused.headers['retry-after'], '1')
  t.same(refused.json(), { statusCode: 429, code: 'FST_OAUTH2_LOGIN_THROTTLED', error: 'Too Many Requests', message: 'Too many failed logins: retry later' })
  t.equal((await attempt('johndoe', PASSWORD)).statusCode, 429, 'and Basic failures count at the token endpoint')
  const ok = await basic(PASSWORD, '127.0.0.9')
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { id: 'johndoe' })
  t.same(events.filter((e) => e.mechanism === 'http_basic').map((e) => `${e.event}:${e.reason}`), [
    'authn_login_fail:invalid_credentials', 'authn_login_fail:invalid_credentials', 'authn_login_lock:throttled_username_address', 'authn_login_success:valid_credentials'
  ])
})

t.test('throttling: false, or enabled: false, turns it off', async (t) => {
  for (const throttling of [false, { enabled: false }] as const) {
    const { attempt } = await throttledApp(t, { throttling })
    for (let i = 0; i < 30; i++) t.equal((await attempt('johndoe', 'wrong')).statusCode, 400)
    t.equal((await attempt('johndoe', PASSWORD)).statusCode, 200)
  }
})

t.test('tuned limits', async (t) => {
  const { attempt } = await throttledApp(t, { throttling: { perUsernameAndAddress: { freeAttempts: 2, baseDelay: '1m', maxDelay: '2m' }, perAddress: { freeAttempts: 100 }, window: '1h' } })
  await attempt('johndoe', 'wrong')
  await attempt('johndoe', 'wrong')
  t.equal((await attempt('johndoe', 'wrong')).headers['retry-after'], '60')
})

t.test('store outage: fail-closed answers 503 before any password work, fail-open checks the password unthrottled', async (t) => {
  const store = observedStore()
  const closed = await throttledApp(t, { store })
  store.failing = true
  const refused = await closed.attempt('johndoe', PASSWORD)
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
  t.same(refused.json(), { error: 'temporarily_unavailable', error_description: 'The token store is unavailable, retry later' })
  t.same(closed.lookups, [])

  const openStore = observedStore()
  const open = await throttledApp(t, { store: openStore, throttling: { onStoreError: 'fail-open' } })
  openStore.failing = true
  t.equal((await open.attempt('johndoe', 'wrong')).statusCode, 400)
  t.equal((await open.attempt('johndoe', PASSWORD)).statusCode, 200)
  t.same(open.lookups, ['johndoe', 'johndoe'])
})

t.test('a success is not failed by a store that cannot clear the count', async (t) => {
  const store = observedStore()
  const { attempt } = await throttledApp(t, { store })
  store.clearLoginFailures = async () => { throw new Error('down') }
  t.equal((await attempt('johndoe', PASSWORD)).statusCode, 200)
})

t.test('options are validated at register time', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['yes', /^Invalid option throttling: must be false or an object \(got "yes"\)/],
    [{ enabled: 1 }, /^Invalid option throttling\.enabled: must be a boolean/],
    [{ perAddress: 3 }, /^Invalid option throttling\.perAddress: must be an object/],
    [{ perUsernameAndAddress: { freeAttempts: 101 } }, /^Invalid option throttling\.perUsernameAndAddress\.freeAttempts: must be an integer from 0 to 100/],
    [{ perUsernameAndAddress: { freeAttempts: -1 } }, /freeAttempts: must be an integer from 0 to 100/],
    [{ perAddress: { baseDelay: '1x' } }, /^Invalid option throttling\.perAddress\.baseDelay/],
    [{ perAddress: { baseDelay: '2m', maxDelay: '1m' } }, /^Invalid option throttling\.perAddress\.maxDelay: must not be less than throttling\.perAddress\.baseDelay \(120 s\)/],
    [{ window: '30m' }, /^Invalid option throttling\.window: must be at least the longest maxDelay \(3600 s\)/],
    [{ onStoreError: 'maybe' }, /^Invalid option throttling\.onStoreError: must be "fail-closed" or "fail-open"/],
    [{ now: 5 }, /^Invalid option throttling\.now: must be a function/]
  ]
  for (const [throttling, message] of cases) {
    await t.rejects(buildApp({ throttling: throttling as OAuth2PasswordOptions['throttling'] }), { code: 'FST_OAUTH2_INVALID_OPTION', message }, JSON.stringify(throttling))
  }
  await t.rejects(buildApp({ onSecurityEvent: 'log' as unknown as OAuth2PasswordOptions['onSecurityEvent'] }), { code: 'FST_OAUTH2_INVALID_OPTION', message: /^Invalid option onSecurityEvent: must be a function/ })
  const { recordLoginFailure, ...legacy } = observedStore()
  await t.rejects(buildApp({ store: legacy as unknown as OAuth2PasswordOptions['store'] }), { code: 'FST_OAUTH2_INVALID_OPTION', message: /^Invalid option store\.recordLoginFailure: must be a function while throttling is on/ })
  const { app } = await buildApp({ store: legacy as unknown as OAuth2PasswordOptions['store'], throttling: false })
  t.pass('a store without counters is fine with throttling off')
  await app.close()
})
