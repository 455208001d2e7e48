import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'

const HOST = '127.0.0.1'
const READY_TIMEOUT_MS = 10_000

/** Whether the `redis-server` binary (Debian package `redis-server`) is on the PATH. */
export function redisServerInstalled (): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

/**
 * Call first in a file of Redis tests. Without `redis-server` the file is skipped
 * with a one-line notice, except under `CI`, where it fails. Returns whether to go on.
 */
export function requireRedisServer (t: Test): boolean {
  if (redisServerInstalled()) return true
  if (process.env.CI !== undefined && process.env.CI !== '') {
    t.fail('redis-server is not installed; CI runs the Redis tests (apt-get install redis-server)')
  } else {
    t.plan(0, 'redis-server is not installed: Redis tests skipped')
  }
  return false
}

/** A free TCP port on the loopback interface. */
export async function freePort (): Promise<number> {
  const server = createServer()
  server.listen(0, HOST)
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

/** Sends one inline command; resolves with the first reply line ('' when the server closes first), rejects when nothing listens. */
async function inlineCommand (port: number, command: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port }, function sendCommand () {
      socket.write(`${command}\r\n`)
    })
    socket.once('data', function firstLine (data: Buffer) {
      resolve(data.toString('utf8').split('\r\n')[0] as string)
      socket.destroy()
    })
    socket.once('close', () => resolve(''))
    socket.once('error', reject)
  })
}

/** A `redis-server` on a free loopback port, for one test file. */
export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string
  /** Starts it (again) on the same port, with the same data directory. */
  start (): Promise<void>
  /** Stops it; with `save`, its data is written first and comes back on the next start; without, the next start is empty. */
  stop (options?: { save?: boolean }): Promise<void>
}

/** The major version of the installed `redis-server` (0 when unknown). */
export function redisServerMajorVersion (): number {
  const match = /v=(\d+)\./.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout ?? '')
  return match === null ? 0 : Number(match[1])
}

/**
 * Starts `redis-server --port <free> --save '' --appendonly no` on 127.0.0.1
 * (data only in memory, unless `stop({ save: true })`), with `args` added, stopped at teardown.
 */
export async function startRedisServer (t: Test, args: readonly string[] = []): Promise<RedisServer> {
  const port = await freePort()
  const dir = await mkdtemp(join(tmpdir(), 'fastify-oauth2-redis-'))
  let child: ChildProcess | null = null

  async function waitUntilReady (process: ChildProcess): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (process.exitCode !== null) throw new Error(`redis-server exited with code ${process.exitCode}`)
      const reply = await inlineCommand(port, 'PING').catch(() => '')
      if (reply === '+PONG') return
      await sleep(20)
    }
    throw new Error(`redis-server did not answer on port ${port}`)
  }

  async function start (): Promise<void> {
    if (child !== null) return
    const process = spawn('redis-server', [
      '--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning', ...args
    ], { stdio: 'ignore' })
    child = process
    await waitUntilReady(process)
  }

  async function stop (options: { save?: boolean } = {}): Promise<void> {
    const process = child
    if (process === null) return
    child = null
    const exited = process.exitCode === null ? once(process, 'exit') : Promise.resolve()
    if (options.save === true) {
      // The connection closes without a reply when the server shuts down
      await inlineCommand(port, 'SHUTDOWN SAVE').catch(() => '')
    } else {
      process.kill('SIGTERM')
    }
    await exited
    // Without save the next start is empty, as a restart without persistence is: never an older snapshot
    if (options.save !== true) await rm(join(dir, 'dump.rdb'), { force: true })
  }

  t.teardown(async function stopRedisServer () {
    await stop()
    await rm(dir, { recursive: true, force: true })
  })
  await start()
  return { port, url: `redis://${HOST}:${port}`, start, stop }
}
