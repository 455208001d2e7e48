import { Redis } from 'ioredis'
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { INVALID_GRANT, REVOKED, getWithToken, login, postForm, refresh, twoInstancesOnRedis, type Tokens } from '../helpers/example-server.js'
import { requireRedisServer } from '../helpers/redis-server.js'

// Two example server processes behind one Redis, as two instances behind a load balancer:
// rotation, reuse detection and revocation hold across them.

const SECRET = 'multi-instance-secret-of-at-least-32-bytes'
// The documented staleness bound of the example (revocation.cacheTtl, default 1 s)
const CACHE_TTL_MS = 1000

// Two example servers and a Redis on a 2-core machine shared with other suites: more than tap's default 30 s
t.setTimeout(120_000)

if (requireRedisServer(t)) {
  const { redis, a, b } = await twoInstancesOnRedis(t, SECRET)

  t.test('a token rotated on one instance is refused as reused on the other, and its family dies', async (t) => {
    const first = await login(a)
    const rotated = await refresh(a, first.refresh_token)
    t.equal(rotated.status, 200)
    const second = rotated.body as Tokens
    const reused = await refresh(b, first.refresh_token)
    t.equal(reused.status, 400)
    t.same(reused.body, INVALID_GRANT)
    t.same((await refresh(a, second.refresh_token)).body, INVALID_GRANT, 'the token the first instance handed out is dead too')
    const access = await getWithToken(`${b.url}/users/me`, second.access_token)
    t.equal(access.status, 401, 'and so are the family\'s access tokens, on both instances')
    t.same(access.body, REVOKED)
    t.same((await getWithToken(`${a.url}/users/me`, first.access_token)).body, REVOKED)
  })

  t.test('each instance continues the other\'s rotation', async (t) => {
    let token = (await login(a)).refresh_token
    for (const server of [b, a, b, a]) {
      const response = await refresh(server, token)
      t.equal(response.status, 200)
      token = (response.body as Tokens).refresh_token
    }
  })

  t.test('a revocation on one instance is seen by the other', async (t) => {
    const tokens = await login(a)
    t.equal((await getWithToken(`${b.url}/users/me`, tokens.access_token)).status, 200, 'the other instance has the token cached as valid')
    const revoked = await postForm(`${a.url}/revoke`, { token: tokens.access_token })
    t.equal(revoked.status, 200)
    t.equal(revoked.body, '')
    t.same((await getWithToken(`${a.url}/users/me`, tokens.access_token)).body, REVOKED, 'the revoking instance refuses at once')
    // Pub/sub reaches the other instance in milliseconds; the cache TTL bounds it in any case
    const deadline = Date.now() + CACHE_TTL_MS
    let seen = await getWithToken(`${b.url}/users/me`, tokens.access_token)
    while (seen.status === 200 && Date.now() < deadline) {
      await sleep(10)
      seen = await getWithToken(`${b.url}/users/me`, tokens.access_token)
    }
    t.equal(seen.status, 401, 'within the staleness bound')
    t.same(seen.body, REVOKED)

    const session = await login(b)
    t.equal((await postForm(`${b.url}/revoke`, { token: session.refresh_token, token_type_hint: 'refresh_token' })).status, 200)
    t.same((await refresh(a, session.refresh_token)).body, INVALID_GRANT, 'a revoked refresh token: at once, the store decides')
    t.same((await getWithToken(`${a.url}/users/me`, session.access_token)).body, REVOKED, 'with its family\'s access tokens')
  })

  t.test('50 concurrent refreshes of one token across both instances: one rotation, handed out to every success', async (t) => {
    const { refresh_token: token } = await login(a)
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(i % 2 === 0 ? a : b, token)))
    const successes = responses.filter((response) => response.status === 200)
    t.ok(successes.length >= 1)
    // Until the rotation is confirmed, the others repeat it (same successor); after, they are reuses
    t.equal(new Set(successes.map((response) => (response.body as Tokens).refresh_token)).size, 1, 'one successor, whoever answered')
    const losers = responses.filter((response) => response.status !== 200)
    t.ok(losers.every((response) => response.status === 400 && JSON.stringify(response.body) === JSON.stringify(INVALID_GRANT)), 'every other one is invalid_grant')
  })

  t.test('Redis holds hashes, never a token', async (t) => {
    const tokens = await login(a)
    const [handle, secret] = tokens.refresh_token.split('.') as [string, string]
    const client = new Redis(redis.url)
    t.teardown(() => client.disconnect())
    const all = await client.keys('*')
    // The buckets' generation markers (a time each, 1024 of them) are the only keys without a TTL
    const markers = all.filter((key) => key.endsWith(':generation'))
    t.equal(markers.length, 1024)
    t.ok((await client.mget(...markers)).every((value) => /^\d+$/.test(String(value))), 'markers hold a time, nothing else')
    const keys = all.filter((key) => !key.endsWith(':generation'))
    t.ok(keys.length > 0)
    let stored = keys.join('\n')
    for (const key of keys) {
      stored += (await client.type(key)) === 'hash' ? JSON.stringify(await client.hgetall(key)) : String(await client.get(key))
      t.ok(await client.pttl(key) > 0, `${key} expires`)
    }
    for (const part of [handle, secret, tokens.access_token]) t.notOk(stored.includes(part))
  })
}
