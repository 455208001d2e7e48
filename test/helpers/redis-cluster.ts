import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { freePort } from './redis-server.js'

const HOST = '127.0.0.1'
const MASTERS = 3
// Redis Cluster's bus listens on the client port + 10000
const BUS_OFFSET = 10_000
const READY_TIMEOUT_MS = 20_000

/** Whether `redis-server` and `redis-cli` (Debian packages `redis-server`, `redis-tools`) are on the PATH. */
export function redisClusterInstallable (): boolean {
  return ['redis-server', 'redis-cli'].every((binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0)
}

/** Like `requireRedisServer`: skipped with a notice without the binaries, a failure under `CI`. */
export function requireRedisCluster (t: Test): boolean {
  if (redisClusterInstallable()) return true
  if (process.env.CI !== undefined && process.env.CI !== '') {
    t.fail('redis-server or redis-cli is not installed; CI runs the Redis Cluster tests (apt-get install redis-server)')
  } else {
    t.plan(0, 'redis-server or redis-cli is not installed: Redis Cluster tests skipped')
  }
  return false
}

async function portIsFree (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, HOST, () => server.close(() => resolve(true)))
  })
}

// A client port whose bus port (+10000) is a valid, free port too
async function clusterPort (taken: Set<number>): Promise<number> {
  for (;;) {
    const port = await freePort()
    if (port + BUS_OFFSET <= 65_535 && !taken.has(port) && await portIsFree(port + BUS_OFFSET)) return port
  }
}

/** A 3-master Redis Cluster on loopback ports, for one test file. */
export interface RedisCluster {
  /** `127.0.0.1:<port>` of each master: seed nodes. */
  readonly nodes: string[]
  /** A plain client of each master, for looking and for faults. */
  readonly masters: Redis[]
}

async function waitFor (check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(50)
  }
  throw new Error(`Redis Cluster: timed out waiting for ${what}`)
}

/**
 * Starts three `redis-server --cluster-enabled yes` on free loopback ports (no
 * persistence), joins them with `redis-cli --cluster create … --cluster-replicas 0`,
 * and waits for `cluster_state:ok` on every node. Stopped at teardown.
 */
export async function startRedisCluster (t: Test): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'fastify-oauth2-cluster-'))
  const children: ChildProcess[] = []
  const masters: Redis[] = []
  t.teardown(async function stopRedisCluster () {
    for (const client of masters) client.disconnect()
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null) return
      const exited = once(child, 'exit')
      child.kill('SIGTERM')
      await exited
    }))
    await rm(dir, { recursive: true, force: true })
  })
  const ports: number[] = []
  for (let i = 0; i < MASTERS; i++) ports.push(await clusterPort(new Set(ports)))
  for (const port of ports) {
    children.push(spawn('redis-server', [
      '--port', String(port), '--bind', HOST, '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`,
      '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'
    ], { stdio: 'ignore' }))
    const client = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 1 })
    // Refused connections while the node starts are expected: waitFor retries
    client.on('error', () => {})
    masters.push(client)
  }
  await Promise.all(masters.map((client) => waitFor(async () => (await client.ping()) === 'PONG', 'the nodes')))
  const nodes = ports.map((port) => `${HOST}:${port}`)
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' })
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`)
  await Promise.all(masters.map((client) => waitFor(async () => String(await client.cluster('INFO')).includes('cluster_state:ok'), 'cluster_state:ok')))
  return { nodes, masters }
}
