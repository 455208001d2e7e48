import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { childEnvironment } from './child-env.js'
import { startRedisServer, type RedisServer } from './redis-server.js'
import { suiteLogs } from './log-secrets.js'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const START_TIMEOUT = 30_000
// The example's own settings: whatever the test runner's environment holds, these come from the test
const VARIABLES = ['PORT', 'HOST', 'JWT_SECRET', 'BCRYPT_COST', 'DATABASE', 'REDIS_URL', 'REDIS_CLUSTER']

/** An example server process (`npx tsx examples/app/server.ts`) listening on loopback. */
export interface ExampleServer {
  /** `http://127.0.0.1:<port>`, read from its start line. */
  readonly url: string
  /** Its log lines so far (JSON, one object per line). */
  readonly logs: ReadonlyArray<Record<string, unknown>>
}

/**
 * Starts the example server as `npm run example` does, with its own SQLite file in a
 * temporary directory, on a free loopback port, and `env` on top (JWT_SECRET, REDIS_URL…).
 * It is killed, and its directory removed, at teardown.
 */
export async function startExampleServer (t: Test, env: Record<string, string>): Promise<ExampleServer> {
  suiteLogs.remember(env.JWT_SECRET)
  const dir = await mkdtemp(join(tmpdir(), 'fastify-oauth2-example-'))
  const base = childEnvironment()
  for (const name of VARIABLES) delete base[name]
  // detached: its own process group, so teardown reaches npx, tsx and node at once
  const child = spawn('npx', ['tsx', 'examples/app/server.ts'], {
    cwd: ROOT,
    env: { ...base, HOST: '127.0.0.1', PORT: '0', BCRYPT_COST: '4', DATABASE: join(dir, 'users.db'), ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const closed = once(child, 'close')
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(-(child.pid as number), 'SIGKILL')
      await closed
    }
    await rm(dir, { recursive: true, force: true })
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const logs: Array<Record<string, unknown>> = []
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example server: no start line within ${START_TIMEOUT} ms: ${stderr}`)), START_TIMEOUT)
    createInterface({ input: child.stdout }).on('line', (line) => {
      // The server's log goes through the suite's secret check too (issue 8 §6)
      suiteLogs.lines.push(line)
      const entry = JSON.parse(line) as Record<string, unknown>
      logs.push(entry)
      const match = /^Example server on (http:\/\/\S+) /.exec(String(entry.msg))
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    })
    closed.then(() => {
      clearTimeout(timer)
      reject(new Error(`example server exited before listening: ${stderr}`))
    }, reject)
  })
  return { url, logs }
}

/** What a test client saw of one HTTP exchange. */
export interface Exchange {
  readonly status: number
  readonly headers: Headers
  /** Parsed JSON, or the raw text when it is not JSON (an empty 200 of /revoke). */
  readonly body: unknown
}

async function exchange (response: Response): Promise<Exchange> {
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, headers: response.headers, body }
}

/** POSTs a form (token and revocation endpoints). */
export async function postForm (url: string, form: Record<string, string>): Promise<Exchange> {
  suiteLogs.rememberFields(form)
  const answer = await exchange(await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form)
  }))
  suiteLogs.rememberFields(answer.body)
  return answer
}

/** GETs a protected route with a bearer token. */
export async function getWithToken (url: string, token: string): Promise<Exchange> {
  return await exchange(await fetch(url, { headers: { authorization: `Bearer ${token}` } }))
}

/** The tokens of a login at the example. */
export interface Tokens {
  readonly access_token: string
  readonly refresh_token: string
}

/** The example's answer to a dead refresh token (RFC 6749 §5.2). */
export const INVALID_GRANT = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }
/** The example's answer to a revoked access token on a protected route. */
export const REVOKED = { statusCode: 401, code: 'FST_OAUTH2_INVALID_TOKEN', error: 'Unauthorized', message: 'The access token has been revoked' }

/** Logs the demo user johndoe in at `server`; throws unless it is answered 200. */
export async function login (server: ExampleServer): Promise<Tokens> {
  const response = await postForm(`${server.url}/token`, { username: 'johndoe', password: 'secret' })
  if (response.status !== 200) throw new Error(`login: ${response.status}`)
  return response.body as Tokens
}

/** The refresh_token grant at `server` (the URL of an instance, or the instance). */
export async function refresh (server: ExampleServer | string, token: string): Promise<Exchange> {
  const url = typeof server === 'string' ? server : server.url
  return await postForm(`${url}/token`, { grant_type: 'refresh_token', refresh_token: token })
}

/**
 * A Redis of its own (started with `redisArgs`) and two example server processes sharing
 * it with `secret`, as two instances behind a load balancer.
 */
export async function twoInstancesOnRedis (t: Test, secret: string, redisArgs: readonly string[] = []): Promise<{ redis: RedisServer, a: ExampleServer, b: ExampleServer }> {
  const redis = await startRedisServer(t, redisArgs)
  const [a, b] = await Promise.all([
    startExampleServer(t, { JWT_SECRET: secret, REDIS_URL: redis.url }),
    startExampleServer(t, { JWT_SECRET: secret, REDIS_URL: redis.url })
  ]) as [ExampleServer, ExampleServer]
  return { redis, a, b }
}
