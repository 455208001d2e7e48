import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { INVALID_GRANT, REVOKED, getWithToken, postForm, twoInstancesOnRedis, type ExampleServer, type Exchange, type Tokens } from '../helpers/example-server.js'
import { redisServerMajorVersion, requireRedisServer, type RedisServer } from '../helpers/redis-server.js'

// Issue 12 §5: Redis stopped, paused, slowed, flushed and restarted while logins, refreshes, revokes
// and protected requests run, on one instance (half the clients) and on two sharing the store (the
// other half): only documented answers; a 503 is retried as told with the same token and never turns
// into a reuse; no revoked token is accepted afterwards; no family is half-written; everyone recovers.

const SECRET = 'redis-faults-secret-of-at-least-32-bytes'
const CLIENTS = 6
// The example's revocation.cacheTtl: how long another instance may answer from its cache
const CACHE_TTL_MS = 1000
const RECOVERY_MS = 15_000
const TOKEN_UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'The token store is unavailable, retry later' }
const ROUTE_UNAVAILABLE = { statusCode: 503, code: 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', error: 'Service Unavailable', message: 'Authentication is temporarily unavailable' }
// Every field a family hash is written with; 'p' and 'r' come with the first rotation, 'n' until it is confirmed
const FAMILY_FIELDS = ['d', 'e', 'h', 'i', 's', 'u']

type What = 'login' | 'refresh' | 'route' | 'revoke'

interface Fault {
  readonly name: string
  /** Whether the store's data is lost: then tokens from before are refused (invalid_grant, 401 revoked). */
  readonly loses: boolean
  run (redis: RedisServer): Promise<void>
}

async function withAdmin (redis: RedisServer, command: (admin: Redis) => Promise<unknown>): Promise<void> {
  const admin = new Redis(redis.url)
  try {
    await command(admin)
  } finally {
    admin.disconnect()
  }
}

const FAULTS: Fault[] = [
  { name: 'stopped for 2 s, restarted with its data', loses: false, async run (redis) { await redis.stop({ save: true }); await sleep(2000); await redis.start() } },
  { name: 'writes paused (CLIENT PAUSE 2000 WRITE)', loses: false, run: (redis) => withAdmin(redis, async (admin) => { await admin.call('CLIENT', 'PAUSE', '2000', 'WRITE'); await sleep(2000) }) },
  { name: 'all paused (CLIENT PAUSE 2000 ALL)', loses: false, run: (redis) => withAdmin(redis, async (admin) => { await admin.call('CLIENT', 'PAUSE', '2000', 'ALL'); await sleep(2000) }) },
  { name: 'slowed (DEBUG SLEEP 1.5)', loses: false, run: (redis) => withAdmin(redis, (admin) => admin.call('DEBUG', 'SLEEP', '1.5')) },
  { name: 'flushed (FLUSHALL)', loses: true, run: (redis) => withAdmin(redis, (admin) => admin.flushall()) },
  { name: 'restarted without persistence', loses: true, async run (redis) { await redis.stop(); await sleep(500); await redis.start() } }
]

interface Seen { readonly what: What, readonly response: Exchange, readonly during: boolean }
function same (body: unknown, expected: unknown): boolean {
  return JSON.stringify(body) === JSON.stringify(expected)
}

/** Whether an answer is one the README documents for this fault. */
function documented ({ what, response }: Seen, fault: Fault): boolean {
  const { status, body } = response
  if (status === 200) return true
  if (status === 503) return what === 'route' ? same(body, ROUTE_UNAVAILABLE) : same(body, TOKEN_UNAVAILABLE) && response.headers.get('retry-after') === '1'
  // Only a loss of the store's data ends sessions: tokens from before it are refused
  if (what === 'refresh' && status === 400) return fault.loses && same(body, INVALID_GRANT)
  if (what === 'route' && status === 401) return fault.loses && same(body, REVOKED)
  return false
}

async function runFault (t: Test, fault: Fault, redis: RedisServer, servers: [ExampleServer, ExampleServer]): Promise<void> {
  const seen: Seen[] = []
  const revoked: string[] = []
  const state = { going: true, during: false, recovering: false }
  const recovered = Array.from({ length: CLIENTS }, () => false)

  async function call (what: What, request: Promise<Exchange>): Promise<Exchange> {
    const during = state.during
    const response = await request
    seen.push({ what, response, during })
    return response
  }

  // Even clients stay on one instance, odd ones alternate between the two
  async function client (index: number): Promise<void> {
    let tokens: Tokens | null = null
    let turn = 0
    const next = (): ExampleServer => (index % 2 === 0 ? servers[0] : servers[turn++ % 2]) as ExampleServer
    for (let step = 0; state.going; step++) {
      if (tokens === null) {
        const login = await call('login', postForm(`${next().url}/token`, { username: 'johndoe', password: 'secret' }))
        if (login.status === 200) tokens = login.body as Tokens
      } else if (step % 7 === 6) {
        // Revoke the access token, retrying a 503 as told, then log in again
        const revoke = await call('revoke', postForm(`${next().url}/revoke`, { token: tokens.access_token }))
        if (revoke.status === 200) {
          revoked.push(tokens.access_token)
          tokens = null
        }
      } else {
        // A 503 keeps the same refresh token: the retry must be safe
        const refreshed = await call('refresh', postForm(`${next().url}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))
        if (refreshed.status === 400) tokens = null
        if (refreshed.status !== 200 || tokens === null) continue
        tokens = refreshed.body as Tokens
        const route = await call('route', getWithToken(`${next().url}/users/me`, tokens.access_token))
        if (route.status === 200 && state.recovering) recovered[index] = true
      }
      await sleep(20)
    }
  }

  const clients = Array.from({ length: CLIENTS }, (_, index) => client(index))
  await sleep(800)
  state.during = true
  await fault.run(redis)
  state.during = false
  state.recovering = true
  const deadline = Date.now() + RECOVERY_MS
  while (!recovered.every(Boolean) && Date.now() < deadline) await sleep(50)
  state.going = false
  await Promise.all(clients)

  t.ok(recovered.every(Boolean), 'every client refreshed and used a token again after the fault, on its own')
  t.ok(seen.some(({ response }) => response.status === 503) || fault.loses, 'the fault was met (503) while it lasted')
  const undocumented = seen.filter((each) => !documented(each, fault))
  t.same(undocumented.map(({ what, during, response }) => ({ what, during, status: response.status, body: response.body })), [], 'nothing but 200 and the documented answers')

  await sleep(CACHE_TTL_MS + 100)
  const accepted = []
  for (const token of revoked) {
    for (const server of servers) if ((await getWithToken(`${server.url}/users/me`, token)).status !== 401) accepted.push(token)
  }
  t.ok(revoked.length > 0, `tokens were revoked during the run (${revoked.length})`)
  t.same(accepted, [], 'no revoked token is accepted afterwards, on either instance')

  const inspector = new Redis(redis.url)
  t.teardown(() => inspector.disconnect())
  for (const key of await inspector.keys('fastify-oauth2:{b*}:family:*')) {
    const fields = Object.keys(await inspector.hgetall(key)).sort()
    const complete = [FAMILY_FIELDS, [...FAMILY_FIELDS, 'p', 'r'], [...FAMILY_FIELDS, 'n', 'p', 'r']].some((expected) => same(fields, [...expected].sort()))
    if (!complete) t.fail(`${key}: a half-written family (${fields.join(',')})`)
  }
}

// Bounded: six faults of about 2 s each, 15 s at most to recover, on loopback only
t.setTimeout(300_000)

if (requireRedisServer(t)) {
  // DEBUG is off by default since Redis 7
  const { redis, a, b } = await twoInstancesOnRedis(t, SECRET, redisServerMajorVersion() >= 7 ? ['--enable-debug-command', 'yes'] : [])
  const servers: [ExampleServer, ExampleServer] = [a, b]

  for (const fault of FAULTS) t.test(`Redis ${fault.name} during traffic`, (t) => runFault(t, fault, redis, servers))
}
