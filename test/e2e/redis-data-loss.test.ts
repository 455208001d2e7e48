import { Redis } from 'ioredis'
import t from 'tap'
import { INVALID_GRANT, REVOKED, getWithToken, login, postForm, refresh, twoInstancesOnRedis } from '../helpers/example-server.js'
import { requireRedisServer } from '../helpers/redis-server.js'

// Issue 12 §2: losing the store's data never brings a revoked token back. A revoked access token, the
// access token of a revoked family, then Redis restarted without persistence (or flushed): both stay
// refused, every token issued before the loss stops working, and users log in again.

const SECRET = 'redis-data-loss-secret-of-at-least-32-bytes'

// Two example servers and a Redis on a 2-core machine shared with other suites: more than tap's default 30 s
t.setTimeout(120_000)

if (requireRedisServer(t)) {
  const { redis, a, b } = await twoInstancesOnRedis(t, SECRET)

  for (const loss of ['restart without persistence', 'FLUSHALL'] as const) {
    t.test(`${loss}: no revoked token comes back, nothing issued before works, new logins do`, async (t) => {
      const revoked = await login(a)
      t.equal((await postForm(`${a.url}/revoke`, { token: revoked.access_token })).status, 200)
      const family = await login(a)
      t.equal((await postForm(`${a.url}/revoke`, { token: family.refresh_token })).status, 200)
      const untouched = await login(a)
      t.equal((await getWithToken(`${a.url}/users/me`, untouched.access_token)).status, 200)
      if (loss === 'FLUSHALL') {
        const admin = new Redis(redis.url)
        await admin.flushall()
        admin.disconnect()
      } else {
        await redis.stop()
        await redis.start()
      }
      // Instance b never looked these tokens up: it has nothing cached and asks the store
      const deadline = Date.now() + 5000
      let seen = await getWithToken(`${b.url}/users/me`, revoked.access_token)
      while (seen.status === 503 && Date.now() < deadline) seen = await getWithToken(`${b.url}/users/me`, revoked.access_token)
      t.same(seen.body, REVOKED, 'the revoked access token stays refused')
      t.same((await getWithToken(`${b.url}/users/me`, family.access_token)).body, REVOKED, 'so does the access token of the revoked family')
      t.same((await getWithToken(`${b.url}/users/me`, untouched.access_token)).body, REVOKED, 'and every access token issued before the loss')
      t.same((await refresh(b, untouched.refresh_token)).body, INVALID_GRANT, 'refresh tokens too')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const fresh = await login(b)
      t.equal((await getWithToken(`${a.url}/users/me`, fresh.access_token)).status, 200, 'a new login works on every instance')
      t.equal((await refresh(a, fresh.refresh_token)).status, 200)
    })
  }
}
