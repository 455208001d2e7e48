import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon, { type Options, type Result } from 'autocannon'
import Fastify from 'fastify'
import oauth2Password, { hashPassword, memoryTokenStore, redisTokenStore, type CurrentUser, type TokenStore } from '../lib/index.js'
import { median, setting, startServer, type ServerProcess } from './harness.js'

// `npx tsx bench/refresh.ts`: refresh-grant throughput, and protected-route throughput with
// access-token revocation checks on against the same route with them off, with the in-memory
// store, with Redis (a redis-server on a free loopback port, when installed) and with a 3-master
// Redis Cluster on loopback ports (redis-server --cluster-enabled yes, redis-cli --cluster create).
// Each server runs in its own process; autocannon runs in this one. Prints a Markdown table with
// ratios: against checks off, and against the memory store with the same settings.
//
// Environment: BENCH_DURATION (seconds per measurement, default 5), BENCH_CONNECTIONS (default 10),
// BENCH_ROUNDS (default 3; the table shows medians).

const HOST = '127.0.0.1'
const SECRET = 'refresh-benchmark-secret-of-32-bytes-or-more'
const SCRIPT = 'bench/refresh.ts'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
// Distinct users' tokens the protected route sees: the revocation cache holds one entry per token
const ROUTE_TOKENS = 100
const WARMUP_SECONDS = 2

type Store = 'memory' | 'redis' | 'cluster'

interface Variant {
  /** Store of the server process. */
  readonly store: Store
  readonly checkAccessTokens: boolean
  /** revocation.cacheTtl, seconds. */
  readonly cacheTtl: number
}

function quiet (): void {}

async function storeOf (store: Store): Promise<TokenStore> {
  if (store === 'redis') return await redisTokenStore({ url: process.env.BENCH_REDIS_URL as string, onWarning: quiet })
  if (store === 'cluster') return await redisTokenStore({ nodes: (process.env.BENCH_REDIS_NODES as string).split(','), onWarning: quiet })
  return memoryTokenStore()
}

/** Server mode: the plugin with refresh tokens, GET /me, the variant from BENCH_REFRESH_VARIANT. */
async function serve (): Promise<void> {
  const variant = JSON.parse(process.env.BENCH_REFRESH_VARIANT as string) as Variant
  const passwordHash = await hashPassword('secret', { cost: 4 })
  const account = { id: 'johndoe', passwordHash, scopes: ['me'] }
  const app = Fastify({ logger: false })
  await app.register(oauth2Password, {
    secret: SECRET,
    scopes: { me: 'Read your profile' },
    bcrypt: { cost: 4 },
    users: {
      findByUsername: (username) => username === 'johndoe' ? account : null,
      // Cast: the app's user is { id }, whatever user type the type-check program has seen declared
      findById: (id) => (id === 'johndoe' ? { id } : null) as unknown as CurrentUser | null
    },
    refreshTokens: true,
    revocation: { checkAccessTokens: variant.checkAccessTokens, cacheTtl: variant.cacheTtl },
    store: await storeOf(variant.store)
  })
  app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async function me (request) {
    return await request.currentUser()
  })
  const address = await app.listen({ port: 0, host: HOST })
  process.stdout.write(`${JSON.stringify({ msg: `Refresh benchmark server on ${address}` })}\n`)
  process.on('SIGTERM', () => { app.close().then(() => process.exit(0), () => process.exit(1)) })
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as { port: number }
  server.close()
  await once(server, 'close')
  return port
}

async function startRedis (): Promise<{ url: string, child: ChildProcess } | null> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) return null
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  for (let attempt = 0; attempt < 200; attempt++) {
    if (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() === 'PONG') return { url: `redis://${HOST}:${port}`, child }
    await sleep(25)
  }
  child.kill()
  throw new Error('redis-server did not start')
}

interface Cluster { readonly nodes: string[], readonly children: ChildProcess[], readonly dir: string }

function redisCli (port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout?.trim() ?? ''
}

// Three masters, no replicas; each client port's bus port (+10000) must be free too
async function startCluster (): Promise<Cluster | null> {
  if (spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status !== 0) return null
  const ports: number[] = []
  while (ports.length < 3) {
    const port = await freePort()
    if (port + 10_000 <= 65_535 && !ports.includes(port)) ports.push(port)
  }
  const dir = mkdtempSync(join(tmpdir(), 'bench-cluster-'))
  const children = ports.map((port) => spawn('redis-server', [
    '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--dir', dir, '--save', '', '--appendonly', 'no'
  ], { stdio: 'ignore' }))
  for (const port of ports) {
    for (let attempt = 0; attempt < 200 && redisCli(port, 'ping') !== 'PONG'; attempt++) await sleep(25)
  }
  const nodes = ports.map((port) => `${HOST}:${port}`)
  spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' })
  for (const port of ports) {
    for (let attempt = 0; attempt < 400 && !redisCli(port, 'cluster', 'info').includes('cluster_state:ok'); attempt++) await sleep(25)
  }
  return { nodes, children, dir }
}

// One at a time: the bcrypt gate answers a burst of logins with 503, as it should
async function logins (url: string, count: number): Promise<Array<{ access_token: string, refresh_token: string }>> {
  const tokens = []
  for (let i = 0; i < count; i++) tokens.push(await login(url))
  return tokens
}

async function login (url: string): Promise<{ access_token: string, refresh_token: string }> {
  const response = await fetch(`${url}/token`, { method: 'POST', headers: FORM, body: 'username=johndoe&password=secret' })
  if (response.status !== 200) throw new Error(`login: ${response.status}`)
  return await response.json() as { access_token: string, refresh_token: string }
}

async function run (options: Options): Promise<Result> {
  return await new Promise((resolve, reject) => {
    autocannon(options, (error, result) => { if (error === null) resolve(result); else reject(error) })
  })
}

/** 2xx per second; a load that fails fast must not look fast, so anything else fails the run. */
function throughput (result: Result, what: string): number {
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(`${what}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
  }
  return result['2xx'] / result.duration
}

/** Each request uses a refresh token from a pool and puts its successor back: every token is used once. */
async function refreshLoad (url: string, connections: number, duration: number): Promise<number> {
  const pool = (await logins(url, connections * 2)).map((tokens) => tokens.refresh_token)
  const load = async (seconds: number) => await run({
    url,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [{
      method: 'POST',
      path: '/token',
      headers: FORM,
      setupRequest (request) {
        request.body = `grant_type=refresh_token&refresh_token=${pool.shift() as string}`
        return request
      },
      onResponse (status, body) {
        if (status === 200) pool.push((JSON.parse(body) as { refresh_token: string }).refresh_token)
      }
    }]
  })
  await load(WARMUP_SECONDS)
  return throughput(await load(duration), 'refresh')
}

/** GET /me with a round robin of access tokens of distinct logins. */
async function routeLoad (url: string, connections: number, duration: number): Promise<number> {
  const tokens = (await logins(url, ROUTE_TOKENS)).map((issued) => issued.access_token)
  let next = 0
  const load = async (seconds: number) => await run({
    url,
    connections,
    duration: seconds,
    pipelining: 1,
    requests: [{
      method: 'GET',
      path: '/me',
      setupRequest (request) {
        request.headers = { authorization: `Bearer ${tokens[next++ % tokens.length] as string}` }
        return request
      }
    }]
  })
  await load(WARMUP_SECONDS)
  return throughput(await load(duration), 'route')
}

async function withServer<T> (variant: Variant, redis: { url?: string, nodes?: string[] }, measure: (url: string) => Promise<T>): Promise<T> {
  const server: ServerProcess = await startServer(`refresh-${variant.store}`, SCRIPT, {
    env: { BENCH_REFRESH_SERVE: '1', BENCH_REFRESH_VARIANT: JSON.stringify(variant), BENCH_REDIS_URL: redis.url ?? '', BENCH_REDIS_NODES: redis.nodes?.join(',') ?? '' }
  })
  try {
    return await measure(server.url)
  } finally {
    await server.stop()
  }
}

interface Measurement {
  readonly load: 'refresh' | 'route'
  readonly variant: Variant
  readonly label: string
  readonly results: number[]
}

function measurements (stores: readonly Store[]): Measurement[] {
  const list: Measurement[] = stores.map((store) => ({ load: 'refresh', variant: { store, checkAccessTokens: false, cacheTtl: 1 }, label: `| refresh grant | ${store} | – |`, results: [] }))
  list.push({ load: 'route', variant: { store: 'memory', checkAccessTokens: false, cacheTtl: 1 }, label: '| GET /me, checks off | – | – |', results: [] })
  for (const store of stores) {
    for (const cacheTtl of [1, 0]) {
      list.push({ load: 'route', variant: { store, checkAccessTokens: true, cacheTtl }, label: `| GET /me, checks on | ${store} | ${cacheTtl === 0 ? '0 (every request)' : `${cacheTtl} s`} |`, results: [] })
    }
  }
  return list
}

async function measureAll (list: Measurement[], rounds: number, redis: { url?: string, nodes?: string[] }): Promise<void> {
  const duration = setting('BENCH_DURATION', 5, 120)
  const connections = setting('BENCH_CONNECTIONS', 10, 120)
  // Rounds interleave the variants, so a slow spell of the machine spreads over all of them
  for (let round = 0; round < rounds; round++) {
    for (const measurement of list) {
      const load = measurement.load === 'refresh' ? refreshLoad : routeLoad
      measurement.results.push(await withServer(measurement.variant, redis, (url) => load(url, connections, duration)))
    }
  }
}

// The same load and settings with the memory store: the ratio the store costs
function memoryBaseline (list: Measurement[], measurement: Measurement): Measurement | undefined {
  return list.find((other) => other.load === measurement.load && other.variant.store === 'memory' &&
    other.variant.checkAccessTokens === measurement.variant.checkAccessTokens && other.variant.cacheTtl === measurement.variant.cacheTtl)
}

function table (list: Measurement[]): string[] {
  const off = median((list.find((measurement) => measurement.load === 'route' && !measurement.variant.checkAccessTokens) as Measurement).results)
  return list.map((measurement) => {
    const value = median(measurement.results)
    const ratio = measurement.load === 'refresh' ? '–' : (value / off).toFixed(2)
    const baseline = memoryBaseline(list, measurement)
    const vsMemory = baseline === undefined || measurement.variant.store === 'memory' ? '–' : (value / median(baseline.results)).toFixed(2)
    return `${measurement.label} ${value.toFixed(0)} | ${measurement.results.map((result) => result.toFixed(0)).join(', ')} | ${ratio} | ${vsMemory} |`
  })
}

async function main (): Promise<void> {
  const rounds = setting('BENCH_ROUNDS', 3, 120)
  const redis = await startRedis()
  if (redis === null) process.stderr.write('redis-server is not installed: Redis rows skipped\n')
  const cluster = redis === null ? null : await startCluster()
  if (redis !== null && cluster === null) process.stderr.write('redis-cli is not installed: Redis Cluster rows skipped\n')
  const stores: Store[] = ['memory', ...(redis === null ? [] : ['redis'] as const), ...(cluster === null ? [] : ['cluster'] as const)]
  const list = measurements(stores)
  try {
    await measureAll(list, rounds, { ...(redis === null ? {} : { url: redis.url }), ...(cluster === null ? {} : { nodes: cluster.nodes }) })
  } finally {
    redis?.child.kill()
    for (const child of cluster?.children ?? []) child.kill()
    if (cluster !== null) rmSync(cluster.dir, { recursive: true, force: true })
  }
  process.stdout.write([
    `Node ${process.version}, ${setting('BENCH_CONNECTIONS', 10, 120)} connections, ${rounds} rounds of ${setting('BENCH_DURATION', 5, 120)} s per measurement (after ${WARMUP_SECONDS} s of warm-up); ${ROUTE_TOKENS} distinct access tokens on GET /me.`,
    '',
    '| load | store | revocation cacheTtl | requests/s (median) | rounds | vs checks off | vs memory store |',
    '|---|---|---|---|---|---|---|',
    ...table(list),
    ''
  ].join('\n'))
}

if (process.env.BENCH_REFRESH_SERVE === '1') await serve()
else await main()
