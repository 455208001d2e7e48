import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { getWithToken, postForm, startExampleServer, type ExampleServer, type Exchange } from '../helpers/example-server.js'
import { requireRedisServer, startRedisServer } from '../helpers/redis-server.js'

// Redis stopped in the middle of traffic on two example instances, then started again:
// only the documented 503s, automatic recovery, and no family left half-written.

const SECRET = 'redis-faults-secret-of-at-least-32-bytes'
const CLIENTS = 8
const TOKEN_UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The token store is unavailable, retry later' }
const ROUTE_UNAVAILABLE = { statusCode: 503, code: 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', error: 'Service Unavailable', message: 'Authentication is temporarily unavailable' }
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }
// Every field a family hash is written with; 'p' and 'r' come together with the first rotation, 'n' until it is confirmed
const FAMILY_FIELDS = ['d', 'e', 'h', 'i', 's', 'u']

type Phase = 'before' | 'outage' | 'after'

interface Seen {
  readonly phase: Phase
  readonly what: 'login' | 'refresh' | 'route'
  readonly response: Exchange
}

interface Tokens { access_token: string, refresh_token: string }

if (requireRedisServer(t)) {
  const redis = await startRedisServer(t)
  const servers = await Promise.all([
    startExampleServer(t, { JWT_SECRET: SECRET, REDIS_URL: redis.url }),
    startExampleServer(t, { JWT_SECRET: SECRET, REDIS_URL: redis.url })
  ])

  t.test('Redis stops mid-run and comes back', async (t) => {
    const seen: Seen[] = []
    let phase: Phase = 'before'
    const run = { going: true }
    // Per client: whether it has had a successful refresh and route call since Redis came back
    const recovered = Array.from({ length: CLIENTS }, () => ({ refresh: false, route: false }))

    async function call (what: Seen['what'], request: Promise<Exchange>): Promise<Exchange> {
      const current = phase
      const response = await request
      seen.push({ phase: current, what, response })
      return response
    }

    async function client (index: number): Promise<void> {
      let tokens: Tokens | null = null
      let turn = index
      while (run.going) {
        const server = servers[turn++ % servers.length] as ExampleServer
        if (tokens === null) {
          const response = await call('login', postForm(`${server.url}/token`, { username: 'johndoe', password: 'secret' }))
          if (response.status === 200) tokens = response.body as Tokens
        } else {
          const refreshed = await call('refresh', postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
          if (refreshed.status === 200) {
            tokens = refreshed.body as Tokens
            if (phase === 'after') (recovered[index] as { refresh: boolean }).refresh = true
          } else if (refreshed.status === 400) {
            // A refresh answered 503 may still have rotated in Redis: retrying its token is then a reuse. Log in again.
            tokens = null
            continue
          }
          const route = await call('route', getWithToken(`${server.url}/users/me`, tokens.access_token))
          if (route.status === 200 && phase === 'after') (recovered[index] as { route: boolean }).route = true
        }
        await sleep(20)
      }
    }

    const clients = Array.from({ length: CLIENTS }, (_, index) => client(index))
    await sleep(1000)
    phase = 'outage'
    await redis.stop({ save: true })
    await sleep(2000)
    await redis.start()
    phase = 'after'
    const deadline = Date.now() + 15_000
    while (!recovered.every((state) => state.refresh && state.route) && Date.now() < deadline) await sleep(50)
    run.going = false
    await Promise.all(clients)

    t.ok(recovered.every((state) => state.refresh && state.route), 'every client refreshed and used its token again once Redis was back')
    t.ok(seen.some(({ phase, response }) => phase === 'before' && response.status === 200), 'traffic flowed before the outage')
    const unavailable = seen.filter(({ response }) => response.status === 503)
    t.ok(unavailable.some(({ what }) => what === 'refresh'), 'the outage was met at the token endpoint')
    t.ok(unavailable.some(({ what }) => what === 'route'), 'and on the protected route (fail-closed)')

    const unexpected = seen.filter(({ what, response }) => {
      if (response.status === 200) return false
      if (response.status === 503) {
        if (what === 'route') return JSON.stringify(response.body) !== JSON.stringify(ROUTE_UNAVAILABLE)
        return JSON.stringify(response.body) !== JSON.stringify(TOKEN_UNAVAILABLE) || response.headers.get('retry-after') !== '1'
      }
      // A family whose rotation outcome was lost in the outage ends in invalid_grant (reuse), never in a 5xx
      return !(what === 'refresh' && response.status === 400 && JSON.stringify(response.body) === JSON.stringify(INVALID_GRANT))
    })
    t.same(unexpected.map(({ what, response }) => ({ what, status: response.status, body: response.body })), [], 'nothing but 200, the documented 503s and invalid_grant')
    t.notOk(seen.some(({ response }) => response.status >= 500 && response.status !== 503), 'no other 5xx')

    const inspector = new Redis(redis.url)
    t.teardown(() => inspector.disconnect())
    const families = await inspector.keys('fastify-oauth2:{b*}:family:*')
    t.ok(families.length >= CLIENTS, 'families came through the restart')
    for (const key of families) {
      const fields = Object.keys(await inspector.hgetall(key)).sort()
      const complete = [FAMILY_FIELDS, [...FAMILY_FIELDS, 'p', 'r'], [...FAMILY_FIELDS, 'n', 'p', 'r']].some((expected) => JSON.stringify(fields) === JSON.stringify(expected.sort()))
      t.ok(complete, `${key}: every field of a family, or of a rotated family (${fields.join(',')})`)
      t.ok(await inspector.pttl(key) > 0, `${key} expires`)
    }
    for (const key of await inspector.keys('*')) if (!key.endsWith(':generation')) t.ok(await inspector.pttl(key) > 0, `${key} expires`)
  })
}
