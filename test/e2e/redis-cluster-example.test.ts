import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { INVALID_GRANT, REVOKED, getWithToken, postForm, startExampleServer, type ExampleServer } from '../helpers/example-server.js'
import { requireRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js'

// Issue 12 §3: the example with REDIS_CLUSTER (seed nodes) runs on a 3-master Redis Cluster:
// logins, refreshes, protected requests and revocations across two instances, no 503.

const SECRET = 'redis-cluster-secret-of-at-least-32-bytes'
const CACHE_TTL_MS = 1000

interface Tokens { access_token: string, refresh_token: string }

t.setTimeout(120_000)

if (requireRedisCluster(t)) {
  const cluster = await startRedisCluster(t)
  const env = { JWT_SECRET: SECRET, REDIS_CLUSTER: cluster.nodes.join(',') }
  const [a, b] = await Promise.all([startExampleServer(t, env), startExampleServer(t, env)]) as [ExampleServer, ExampleServer]

  t.test('30 logins, each refreshed on the other instance and used on both: all 200', async (t) => {
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const login = await postForm(`${a.url}/token`, { username: 'johndoe', password: 'secret' })
      statuses.push(login.status)
      const refreshed = await postForm(`${b.url}/token`, { grant_type: 'refresh_token', refresh_token: (login.body as Tokens).refresh_token })
      statuses.push(refreshed.status)
      for (const server of [a, b]) statuses.push((await getWithToken(`${server.url}/users/me`, (refreshed.body as Tokens).access_token)).status)
    }
    t.same([...new Set(statuses)], [200])
  })

  t.test('revocations on one instance reach the other', async (t) => {
    const tokens = (await postForm(`${a.url}/token`, { username: 'johndoe', password: 'secret' })).body as Tokens
    t.equal((await getWithToken(`${b.url}/users/me`, tokens.access_token)).status, 200)
    t.equal((await postForm(`${a.url}/revoke`, { token: tokens.access_token })).status, 200)
    const deadline = Date.now() + CACHE_TTL_MS
    let seen = await getWithToken(`${b.url}/users/me`, tokens.access_token)
    while (seen.status === 200 && Date.now() < deadline) {
      await sleep(10)
      seen = await getWithToken(`${b.url}/users/me`, tokens.access_token)
    }
    t.same(seen.body, REVOKED)
    t.equal((await postForm(`${b.url}/revoke`, { token: tokens.refresh_token })).status, 200)
    t.same((await postForm(`${a.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token })).body, INVALID_GRANT)
  })
}
