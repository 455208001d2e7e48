import type { FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { memoryTokenStore } from '../../lib/stores/memory.js'
import { buildApp, fakeClock, getMe, loginTokens as login, meApp } from '../helpers/build-app.js'
import { observedStore, type ObservedStore } from '../helpers/token-stores.js'

// Access-token revocation checks on protected routes: their cost (no store call when
// off, a local cache when on), their staleness bound, and the store-failure policies.

const UNAVAILABLE = { statusCode: 503, code: 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', error: 'Service Unavailable', message: 'Authentication is temporarily unavailable' }

async function checkedApp (t: Test, store: ObservedStore, options: Partial<OAuth2PasswordOptions> = {}) {
  return await meApp(t, { store, revocation: { checkAccessTokens: true }, ...options }, 'info')
}

async function me (app: FastifyInstance, accessToken: string): Promise<number> {
  return (await getMe(app, accessToken)).statusCode
}

t.test('checks off (the default): no store call on protected routes', async (t) => {
  const store = observedStore()
  const { app } = await checkedApp(t, store, { revocation: {} })
  const { access_token: token } = await login(app)
  // The login itself reads and clears the login-failure counters (throttling); protected routes ask nothing
  t.same(store.calls, { loginFailures: 1, clearLoginFailures: 1 })
  for (let i = 0; i < 10; i++) t.equal(await me(app, token), 200)
  t.same(store.calls, { loginFailures: 1, clearLoginFailures: 1 }, 'the store was never asked by protected routes')
})

t.test('checks on: one store lookup per token per cacheTtl', async (t) => {
  const store = observedStore()
  const clock = fakeClock(t)
  const { app } = await checkedApp(t, store, { revocation: { checkAccessTokens: true, cacheTtl: '2s' } })
  const john = await login(app)
  const bob = await login(app, 'bob')
  for (let i = 0; i < 10; i++) t.equal(await me(app, john.access_token), 200)
  t.equal(store.calls.accessTokenStatus, 1, 'ten requests, one lookup')
  await me(app, bob.access_token)
  t.equal(store.calls.accessTokenStatus, 2, 'per token')
  clock.advance(1999)
  await me(app, john.access_token)
  t.equal(store.calls.accessTokenStatus, 2, 'still fresh')
  clock.advance(1)
  await me(app, john.access_token)
  t.equal(store.calls.accessTokenStatus, 3, 'stale after cacheTtl: asked again')
})

t.test('cacheTtl 0: the store is asked on every request', async (t) => {
  const store = observedStore()
  const { app } = await checkedApp(t, store, { revocation: { checkAccessTokens: true, cacheTtl: 0 } })
  const { access_token: token } = await login(app)
  for (let i = 0; i < 5; i++) await me(app, token)
  t.equal(store.calls.accessTokenStatus, 5)
})

t.test('concurrent requests with one token share one lookup', async (t) => {
  const store = observedStore()
  const { app } = await checkedApp(t, store)
  const { access_token: token } = await login(app)
  const statuses = await Promise.all(Array.from({ length: 20 }, () => me(app, token)))
  t.same(new Set(statuses), new Set([200]))
  t.equal(store.calls.accessTokenStatus, 1)
})

t.test('cacheSize bounds the cache: the oldest answer goes first', async (t) => {
  const store = observedStore()
  const { app } = await checkedApp(t, store, { revocation: { checkAccessTokens: true, cacheSize: 1 } })
  const one = await login(app)
  const two = await login(app)
  await me(app, one.access_token)
  await me(app, two.access_token)
  await me(app, two.access_token)
  t.equal(store.calls.accessTokenStatus, 2)
  await me(app, one.access_token)
  t.equal(store.calls.accessTokenStatus, 3, 'the first token was pushed out')
})

t.test('staleness bound: a revocation another instance made unannounced is seen within cacheTtl', async (t) => {
  const shared = memoryTokenStore()
  const clock = fakeClock(t)
  const here = observedStore(shared)
  const there = observedStore(shared)
  there.notifying = false
  const { app } = await checkedApp(t, here, { revocation: { checkAccessTokens: true, cacheTtl: '5s' } })
  const { app: other } = await checkedApp(t, there, { revocation: { checkAccessTokens: true, cacheTtl: '5s' } })
  const { access_token: token } = await login(app)
  t.equal(await me(other, token), 200, 'the other instance caches the token as valid')
  await app.oauth2.revokeToken(token)
  t.equal(await me(app, token), 401, 'the revoking instance refuses at once')
  clock.advance(4999)
  t.equal(await me(other, token), 200, 'without a notification, the other may accept it until its cache entry is stale…')
  clock.advance(1)
  t.equal(await me(other, token), 401, '…and no longer')
})

t.test('with notifications, every instance refuses a revoked token at once', async (t) => {
  const shared = memoryTokenStore()
  const { app } = await checkedApp(t, observedStore(shared), { revocation: { checkAccessTokens: true, cacheTtl: '1h' } })
  const { app: other } = await checkedApp(t, observedStore(shared), { revocation: { checkAccessTokens: true, cacheTtl: '1h' } })
  const { access_token: token } = await login(app)
  t.equal(await me(other, token), 200)
  await app.oauth2.revokeToken(token)
  t.equal(await me(other, token), 401)
})

t.test('a revocation during a lookup: that answer is used once, not cached', async (t) => {
  const store = observedStore()
  const { app } = await checkedApp(t, store)
  const { access_token: token } = await login(app)
  const inner = store.accessTokenStatus
  let release: () => void = () => {}
  store.accessTokenStatus = async (query) => {
    const status = await inner(query)
    await new Promise<void>((resolve) => { release = resolve })
    return status
  }
  const pending = me(app, token)
  await new Promise((resolve) => setImmediate(resolve))
  const { access_token: other } = await login(app)
  await app.oauth2.revokeToken(other)
  release()
  t.equal(await pending, 200, 'the answer fetched before the revocation serves its own request')
  store.accessTokenStatus = inner
  const before = store.calls.accessTokenStatus ?? 0
  t.equal(await me(app, token), 200)
  t.equal(store.calls.accessTokenStatus, before + 1, 'but was not cached: asked again')
})

t.test('fail-closed (the default): 503 while the store is down, fresh answers still served, automatic recovery', async (t) => {
  const store = observedStore()
  const clock = fakeClock(t)
  const { app, logs } = await checkedApp(t, store)
  const cached = await login(app)
  const uncached = await login(app)
  t.equal(await me(app, cached.access_token), 200)
  store.failing = true
  const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${uncached.access_token}` } })
  t.equal(response.statusCode, 503)
  t.same(response.json(), UNAVAILABLE)
  t.equal(await me(app, cached.access_token), 200, 'an answer younger than cacheTtl is still used')
  clock.advance(1000)
  t.equal(await me(app, cached.access_token), 503, 'not an older one')
  t.equal(await me(app, uncached.access_token), 503)
  store.failing = false
  t.equal(await me(app, uncached.access_token), 200, 'recovers by itself')
  const lines = logs.filter((line) => String(line.msg).startsWith('fastify-oauth2-password: token store'))
  t.same(lines.map((line) => [line.level, line.msg]), [
    [50, 'fastify-oauth2-password: token store unavailable; access tokens are refused'],
    [30, 'fastify-oauth2-password: token store reachable again']
  ], 'one line when it goes down, one when it comes back')
})

t.test('fail-open: tokens are accepted unchecked while the store is down', async (t) => {
  const store = observedStore()
  const { app, logs } = await checkedApp(t, store, { revocation: { checkAccessTokens: true, onStoreError: 'fail-open', cacheTtl: 0 } })
  const revoked = await login(app)
  await app.oauth2.revokeToken(revoked.access_token)
  const valid = await login(app)
  store.failing = true
  t.equal(await me(app, valid.access_token), 200)
  t.equal(await me(app, revoked.access_token), 200, 'even a revoked one: that is the trade-off')
  store.failing = false
  t.equal(await me(app, revoked.access_token), 401)
  t.equal(logs.filter((line) => line.msg === 'fastify-oauth2-password: token store unavailable; access tokens are accepted unchecked').length, 1)
})

t.test('revocation options are checked and name the option', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['on', /^Invalid option revocation: must be an object/],
    [{ checkAccessTokens: 'yes' }, /^Invalid option revocation\.checkAccessTokens: must be a boolean/],
    [{ cacheTtl: '1w' }, /^Invalid option revocation\.cacheTtl: /],
    [{ cacheSize: 0 }, /^Invalid option revocation\.cacheSize: must be a positive integer/],
    [{ onStoreError: 'ignore' }, /^Invalid option revocation\.onStoreError: must be "fail-closed" or "fail-open" \(got "ignore"\)/]
  ]
  for (const [revocation, message] of cases) {
    await t.rejects(buildApp({ revocation } as Partial<OAuth2PasswordOptions>), { code: 'FST_OAUTH2_INVALID_OPTION', message }, JSON.stringify(revocation))
  }
})
