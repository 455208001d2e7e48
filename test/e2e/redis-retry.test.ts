import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { INVALID_GRANT, REVOKED, getWithToken, login, postForm, refresh, twoInstancesOnRedis, type Exchange, type Tokens } from '../helpers/example-server.js'
import { requireRedisServer } from '../helpers/redis-server.js'

// Issue 12 §1: an answer of "retry" is safe to retry. Redis pauses writes (CLIENT PAUSE … WRITE): the
// rotation is answered 503 but runs when the pause ends. The client retries as told and gets that
// rotation's successor; a real replay of the replaced token afterwards is still caught (RFC 9700 §4.14.2).

const SECRET = 'redis-retry-secret-of-at-least-32-bytes'
const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The token store is unavailable, retry later' }
const PAUSE_MS = 2500
// Bounded: the pause ends after 2.5 s, a client retrying every Retry-After second needs at most 4 tries
const MAX_TRIES = 6

/** Sends `request` until it is answered with something else than 503, waiting Retry-After between tries. */
async function retried (request: () => Promise<Exchange>): Promise<{ first: Exchange, last: Exchange }> {
  const first = await request()
  let last = first
  for (let tries = 1; last.status === 503 && tries < MAX_TRIES; tries++) {
    await sleep(Number(last.headers.get('retry-after')) * 1000)
    last = await request()
  }
  return { first, last }
}

// Two example servers and a Redis on a 2-core machine shared with other suites: more than tap's default 30 s
t.setTimeout(120_000)

if (requireRedisServer(t)) {
  const { redis, a, b } = await twoInstancesOnRedis(t, SECRET)
  const admin = new Redis(redis.url)
  t.teardown(() => admin.disconnect())

  t.test('a refresh answered 503 while writes are paused is retried with the same token: 200, and the family lives', async (t) => {
    for (const [round, retryOn] of [a, b].entries()) {
      const tokens = await login(a)
      await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE')
      let tries = 0
      const { first, last } = await retried(() => refresh(tries++ === 0 ? a : retryOn, tokens.refresh_token))
      t.equal(first.status, 503, `round ${round}: the rotation's outcome is unknown`)
      t.same(first.body, UNAVAILABLE)
      t.equal(first.headers.get('retry-after'), '1')
      t.equal(last.status, 200, `round ${round}: the retry as told succeeds (${retryOn === a ? 'same' : 'other'} instance)`)
      const next = last.body as Tokens
      t.equal((await getWithToken(`${a.url}/users/me`, next.access_token)).status, 200, 'its access token works')
      const rotated = await refresh(b, next.refresh_token)
      t.equal(rotated.status, 200, 'the refresh token it got is the family\'s current one')
      const replay = await refresh(a, tokens.refresh_token)
      t.same(replay.body, INVALID_GRANT, 'RFC 9700 §4.14.2: a later replay of the replaced token is still a reuse')
      t.same((await getWithToken(`${b.url}/users/me`, (rotated.body as Tokens).access_token)).body, REVOKED, 'and ends the family')
    }
  })

  t.test('a replay of a token whose successor was handed out is a reuse, even within seconds', async (t) => {
    const tokens = await login(a)
    const rotated = await refresh(a, tokens.refresh_token)
    t.equal(rotated.status, 200)
    await sleep(100)
    t.same((await refresh(b, tokens.refresh_token)).body, INVALID_GRANT)
    t.same((await refresh(a, (rotated.body as Tokens).refresh_token)).body, INVALID_GRANT, 'the family is revoked')
  })

  t.test('a revocation answered 503 while writes are paused is retried: 200, and the token is revoked', async (t) => {
    const tokens = await login(a)
    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE')
    const access = await retried(() => postForm(`${a.url}/revoke`, { token: tokens.access_token }))
    t.equal(access.first.status, 503)
    t.equal(access.last.status, 200)
    t.same((await getWithToken(`${b.url}/users/me`, tokens.access_token)).body, REVOKED)
    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE')
    const family = await retried(() => postForm(`${b.url}/revoke`, { token: tokens.refresh_token }))
    t.equal(family.first.status, 503)
    t.equal(family.last.status, 200, 'revoking a family twice is harmless')
    t.same((await refresh(a, tokens.refresh_token)).body, INVALID_GRANT)
  })
}
