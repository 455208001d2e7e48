import { Redis } from 'ioredis'
import t from 'tap'
import { getWithToken, postForm, startExampleServer, type ExampleServer } from '../helpers/example-server.js'
import { requireRedisServer, startRedisServer } from '../helpers/redis-server.js'

// Issue 12 §2: losing the store's data never brings a revoked token back. A revoked access token, the
// access token of a revoked family, then Redis restarted without persistence (or flushed): both stay
// refused, every token issued before the loss stops working, and users log in again.

const SECRET = 'redis-data-loss-secret-of-at-least-32-bytes'
const REVOKED = { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token has been revoked' }
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }

interface Tokens { access_token: string, refresh_token: string }

async function login (server: ExampleServer): Promise<Tokens> {
  const response = await postForm(`${server.url}/token`, { username: 'johndoe', password: 'secret' })
  if (response.status !== 200) throw new Error(`login: ${response.status}`)
  return response.body as Tokens
}

// Two example servers and a Redis on a 2-core machine shared with other suites: more than tap's default 30 s
t.setTimeout(120_000)

if (requireRedisServer(t)) {
  const redis = await startRedisServer(t)
  const [a, b] = await Promise.all([
    startExampleServer(t, { JWT_SECRET: SECRET, REDIS_URL: redis.url }),
    startExampleServer(t, { JWT_SECRET: SECRET, REDIS_URL: redis.url })
  ]) as [ExampleServer, ExampleServer]

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
      t.same((await postForm(`${b.url}/token`, { grant_type: 'refresh_token', refresh_token: untouched.refresh_token })).body, INVALID_GRANT, 'refresh tokens too')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const fresh = await login(b)
      t.equal((await getWithToken(`${a.url}/users/me`, fresh.access_token)).status, 200, 'a new login works on every instance')
      t.equal((await postForm(`${a.url}/token`, { grant_type: 'refresh_token', refresh_token: fresh.refresh_token })).status, 200)
    })
  }
}
