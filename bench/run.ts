import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { cpus, loadavg, release, totalmem } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createInterface } from 'node:readline'
import { expectStatus, measure, measureOn, ROOT, setting, startServer, writeSection, type Load, type Sample, type ServerProcess } from './harness.js'
import { renderReport, targetsMet, type Round, type RunInfo } from './report.js'

// `npm run bench`: the example server and a hand-written @fastify/jwt baseline, each in
// its own process on 127.0.0.1, measured by autocannon from this one; writes docs/benchmarks.md.
//
// Environment: BENCH_DURATION (seconds per measurement, 1-60, default 5), BENCH_ROUNDS
// (1-9, default 3), BENCH_CPU_PROF=1 (CPU profiles of both servers in bench/results/; read them
// with `npx tsx bench/profile-summary.ts bench/results/plugin.cpuprofile --filter lib/`).

const CONNECTIONS = 10
const FLOOD_CONNECTIONS = 10
// More than the bcrypt gate admits on any machine (at most 3 running + 96 queued): the rest get 503
const OVERFLOW_CONNECTIONS = 128
const WARMUP_SECONDS = 3
const FLOOD_LEAD_MS = 1000
const BCRYPT_COST = 12
const DRAIN_TIMEOUT_MS = 60_000
// Whatever happens, the run ends: 3 rounds of 5 s take about 4 minutes
const RUN_TIMEOUT_MS = 15 * 60_000
const LOGIN = 'username=johndoe&password=secret'
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

const servers: ServerProcess[] = []

function version (pkg: string): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version
}

function commit (): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return 'unknown'
  }
}

async function issueToken (url: string): Promise<string> {
  const response = await fetch(`${url}/token`, { method: 'POST', headers: FORM, body: LOGIN })
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${await response.text()}`)
  return ((await response.json()) as { access_token: string }).access_token
}

/** The compared routes must give the same 200 answer before their speeds mean anything. */
async function checkSameAnswer (urls: readonly string[], token: string): Promise<void> {
  const answers = await Promise.all(urls.map(async (url) => {
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    return `${response.status} ${await response.text()}`
  }))
  if (!answers.every((answer) => answer === answers[0]) || !answers[0]?.startsWith('200 ')) {
    throw new Error(`the servers answer differently: ${answers.join(' / ')}`)
  }
}

/** Waits until a login goes through at once: the bcrypt queue a flood left behind is empty. */
async function drainLogins (url: string): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/token`, { method: 'POST', headers: FORM, body: LOGIN })
    await response.arrayBuffer()
    if (response.status === 200) return
    await sleep(500)
  }
  throw new Error('the login queue did not drain')
}

interface Flood {
  stop (): Promise<Sample>
}

/** Starts a login flood in a child process; resolves once it runs. */
async function startFlood (load: Load): Promise<Flood> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/flood.ts', JSON.stringify(load)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
  const first = await lines.next()
  if (first.value !== 'started') throw new Error('the flood process did not start')
  return {
    async stop () {
      child.kill('SIGTERM')
      const result = await lines.next()
      if (result.done === true) throw new Error('the flood process ended without a result')
      return JSON.parse(result.value) as Sample
    }
  }
}

async function main (): Promise<void> {
  const duration = setting('BENCH_DURATION', 5, 60)
  const rounds = setting('BENCH_ROUNDS', 3, 9)
  const cpuProfileDir = process.env.BENCH_CPU_PROF === '1' ? join(ROOT, 'bench', 'results') : undefined
  const loadBefore = loadavg()[0] as number
  if (cpuProfileDir !== undefined) mkdirSync(cpuProfileDir, { recursive: true })

  // DATABASE :memory: gives each server its own seeded users table, read the same way by both
  const env = { HOST: '127.0.0.1', PORT: '0', JWT_SECRET: randomBytes(32).toString('base64url'), BCRYPT_COST: String(BCRYPT_COST), DATABASE: ':memory:' }
  try {
    const plugin = await startServer('plugin', 'examples/app/server.ts', { env, cpuProfileDir })
    servers.push(plugin)
    const baseline = await startServer('fastify-jwt', 'bench/fastify-jwt-server.ts', { env, cpuProfileDir })
    servers.push(baseline)

    const token = await issueToken(plugin.url)
    await checkSameAnswer([`${plugin.url}/users/me`, `${baseline.url}/users/me`, `${baseline.url}/users/johndoe`], token)
    const bearer = { authorization: `Bearer ${token}` }
    const load = (url: string, seconds: number): Load => ({ url, connections: CONNECTIONS, duration: seconds, headers: bearer })
    const health = (seconds: number): Load => ({ url: `${plugin.url}/health`, connections: CONNECTIONS, duration: seconds })
    const floodOf = (connections: number, seconds: number): Load => ({ url: `${plugin.url}/token`, connections, duration: seconds, method: 'POST', headers: FORM, body: LOGIN })

    async function underFlood (name: string, connections: number, seconds: number): Promise<[Sample, Sample]> {
      const flood = await startFlood(floodOf(connections, seconds + 2 * FLOOD_LEAD_MS / 1000))
      await sleep(FLOOD_LEAD_MS)
      const reader = await measure(load(`${plugin.url}/users/me`, seconds))
      const logins = await flood.stop()
      await drainLogins(plugin.url)
      return [expectStatus(name, reader), logins]
    }

    process.stderr.write(`warming up (${WARMUP_SECONDS} s per target)…\n`)
    expectStatus('warm-up health', await measure(health(WARMUP_SECONDS)))
    expectStatus('warm-up plugin', await measure(load(`${plugin.url}/users/me`, WARMUP_SECONDS)))
    expectStatus('warm-up @fastify/jwt', await measure(load(`${baseline.url}/users/me`, WARMUP_SECONDS)))
    expectStatus('warm-up no authentication', await measure(load(`${baseline.url}/users/johndoe`, WARMUP_SECONDS)))
    await underFlood('warm-up flood', FLOOD_CONNECTIONS, WARMUP_SECONDS)

    const results: Round[] = []
    for (let round = 1; round <= rounds; round++) {
      process.stderr.write(`round ${round} of ${rounds} (${duration} s per measurement)…\n`)
      const healthSample = expectStatus('health', await measureOn(plugin, health(duration)))
      const pluginSample = expectStatus('plugin', await measureOn(plugin, load(`${plugin.url}/users/me`, duration)))
      const jwtSample = expectStatus('@fastify/jwt', await measureOn(baseline, load(`${baseline.url}/users/me`, duration)))
      const ceiling = expectStatus('no authentication', await measureOn(baseline, load(`${baseline.url}/users/johndoe`, duration)))
      const [flood, floodLogins] = await underFlood('flood', FLOOD_CONNECTIONS, duration)
      const [overflow, overflowLogins] = await underFlood('overflowing flood', OVERFLOW_CONNECTIONS, duration)
      results.push({ health: healthSample, plugin: pluginSample, jwt: jwtSample, ceiling, flood, floodLogins, overflow, overflowLogins })
    }

    const cpu = cpus()
    const info: RunInfo = {
      date: new Date().toISOString(),
      machine: `${cpu[0]?.model.trim() ?? 'unknown CPU'} × ${cpu.length}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${process.platform} ${release()}, Node.js ${process.version}`,
      load: `${loadBefore.toFixed(1)} before the run, ${(loadavg()[0] as number).toFixed(1)} after it`,
      versions: `fastify ${version('fastify')}, @fastify/jwt ${version('@fastify/jwt')}, fast-jwt ${version('fast-jwt')}, autocannon ${version('autocannon')}; commit ${commit()}`,
      connections: CONNECTIONS,
      floodConnections: FLOOD_CONNECTIONS,
      overflowConnections: OVERFLOW_CONNECTIONS,
      warmupSeconds: WARMUP_SECONDS,
      durationSeconds: duration,
      rounds,
      bcryptCost: BCRYPT_COST
    }
    const report = renderReport(info, results)
    writeSection('run', report)
    process.stdout.write(`${report}\nWritten to docs/benchmarks.md${targetsMet(results) ? '' : ' (a target was missed)'}\n`)
  } finally {
    await Promise.all(servers.map(async (server) => await server.stop()))
    if (cpuProfileDir !== undefined) process.stderr.write(`CPU profiles in ${cpuProfileDir}\n`)
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`bench: still running after ${RUN_TIMEOUT_MS / 60_000} minutes, giving up\n`)
  for (const server of servers) server.kill()
  process.exit(1)
}, RUN_TIMEOUT_MS)
watchdog.unref()

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`)
  process.exitCode = 1
})
