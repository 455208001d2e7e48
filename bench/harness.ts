import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon, { type Request, type Result } from 'autocannon'

// The one harness every scenario uses (run.ts, refresh.ts, schemes.ts, overhead.ts, growth.ts):
// settings from the environment, medians, servers in their own processes, autocannon loads,
// the server's CPU time per answer, and the sections of docs/benchmarks.md.

/** The repository root: servers run from it, as `npm run example` does. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000
// Servers announce their URL once: in a Fastify JSON log line ("… on http://…") or as a plain line
const START_LINE = /(?:^| on )(http:\/\/[^\s"]+)/

/**
 * A whole-number setting from the environment (`BENCH_DURATION`, …), from 1 to `max`.
 * Unset or empty: `fallback`. Anything else throws, naming the variable.
 */
export function setting (name: string, fallback: number, max = 60): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!(value >= 1 && value <= max)) throw new Error(`${name} must be an integer from 1 to ${max}`)
  return value
}

/** The median of a non-empty list. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}

/** A server running in its own process, so it never shares an event loop with autocannon. */
export interface ServerProcess {
  readonly name: string
  readonly url: string
  /** SIGTERM, then waits for the exit (a CPU profile, when asked for, is written then). */
  stop (): Promise<void>
  /** SIGKILL, for a run that has to end now. */
  kill (): void
  /** CPU time the process used so far (user + system, all threads), microseconds; undefined off Linux. */
  cpuMicros (): number | undefined
  /** Resident set size, bytes; undefined off Linux. */
  rssBytes (): number | undefined
}

/** Options of {@link startServer}. */
export interface StartOptions {
  /** Environment added to this process's. */
  env: Record<string, string>
  /** Directory for a V8 CPU profile of the server (`node --cpu-prof`), written when it stops. */
  cpuProfileDir?: string
}

let clockTicks: number | undefined

// /proc/<pid>/stat counts CPU time in clock ticks (USER_HZ, 100 on most systems)
function ticksPerSecond (): number {
  clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
  return clockTicks
}

/** CPU time (user + system, all threads) of a process so far, microseconds; undefined off Linux. */
export function cpuMicrosOf (pid: number | undefined): number | undefined {
  if (process.platform !== 'linux' || pid === undefined) return undefined
  // proc(5): after "(comm)", fields 14 and 15 of the line are utime and stime
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / ticksPerSecond()
}

function rssBytesOf (pid: number | undefined): number | undefined {
  if (process.platform !== 'linux' || pid === undefined) return undefined
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
  return kib === undefined ? undefined : Number(kib) * 1024
}

function exited (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

function urlOf (line: string): string | undefined {
  let text = line
  try {
    text = (JSON.parse(line) as { msg?: string }).msg ?? ''
  } catch {}
  return START_LINE.exec(text)?.[1]
}

function announcedUrl (name: string, child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no start line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name}: exited (${code ?? signal}) before listening`))
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const url = urlOf(line)
      if (url === undefined) {
        process.stderr.write(`[${name}] ${line}\n`)
      } else {
        clearTimeout(timer)
        resolve(url)
      }
    })
  })
}

/**
 * Runs `script` with `node --import tsx` from the repository root and resolves
 * once it announced its URL. Any other line it prints is copied to stderr,
 * prefixed with `name`.
 */
export async function startServer (name: string, script: string, options: StartOptions): Promise<ServerProcess> {
  const profile = options.cpuProfileDir === undefined
    ? []
    : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const url = await announcedUrl(name, child).catch((error: unknown) => {
    child.kill('SIGKILL')
    throw error
  })
  return {
    name,
    url,
    async stop () {
      const done = exited(child)
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      await done
      clearTimeout(timer)
    },
    kill () {
      child.kill('SIGKILL')
    },
    cpuMicros: () => cpuMicrosOf(child.pid),
    rssBytes: () => rssBytesOf(child.pid)
  }
}

/** One autocannon load. */
export interface Load {
  url: string
  connections: number
  /** Seconds. */
  duration: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
  /** Bearer tokens sent in turn, one per request (`Authorization: Bearer …`), instead of fixed headers. */
  tokens?: readonly string[]
}

/** What one load measured. */
export interface Sample {
  /** 2xx answers per second: an endpoint that fails fast never looks fast. */
  requestsPerSecond: number
  /** Answers of any status per second (for loads whose answers are meant to be refusals). */
  answersPerSecond: number
  /** Mean latency, milliseconds. */
  latencyMean: number
  /** Milliseconds. */
  latencyP99: number
  /** Answers by status code. */
  statusCodes: Record<string, number>
  /** Connection errors and timeouts. */
  errors: number
  /** How long the load ran, seconds. */
  durationSeconds: number
  /** Server CPU time (user + system) per answer, microseconds, when the server's CPU time is known. */
  serverCpuPerRequest?: number
}

/** A load in progress. */
export interface Running {
  readonly done: Promise<Sample>
  /** Ends the load early (the sample covers the time it ran). */
  stop (): void
}

function sample (result: Result): Sample {
  const statusCodes: Record<string, number> = {}
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(count)
  const answers = Object.values(statusCodes).reduce((sum, count) => sum + count, 0)
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    answersPerSecond: answers / result.duration,
    latencyMean: result.latency.average,
    latencyP99: result.latency.p99,
    statusCodes,
    errors: result.errors + result.timeouts,
    durationSeconds: result.duration
  }
}

// Where each token list's turn stands: a load goes on where the previous one on the same list stopped,
// so every token comes back once per pass however the rounds cut the run
const turns = new WeakMap<readonly string[], number>()

// Tokens in turn, shared by all connections: with many tokens every request carries one the server has not seen lately
function rotatingBearer (tokens: readonly string[]): Request[] {
  return [{
    setupRequest (request) {
      const next = turns.get(tokens) ?? 0
      turns.set(tokens, (next + 1) % tokens.length)
      request.headers = { ...request.headers, authorization: `Bearer ${tokens[next] as string}` }
      return request
    }
  }]
}

/** Starts a load with autocannon's programmatic API, in this process. */
export function start (load: Load): Running {
  let stop: () => void = () => {}
  const done = new Promise<Sample>((resolve, reject) => {
    const instance = autocannon({
      url: load.url,
      connections: load.connections,
      duration: load.duration,
      pipelining: 1,
      // Queued logins may wait several seconds for bcrypt; anything slower counts as an error
      timeout: 20,
      method: load.method ?? 'GET',
      headers: load.headers ?? {},
      body: load.body,
      requests: load.tokens === undefined ? undefined : rotatingBearer(load.tokens)
    }, (error, result) => {
      if (error !== null) reject(error)
      else resolve(sample(result))
    })
    stop = () => instance.stop()
  })
  return { done, stop: () => stop() }
}

/** Runs a load to its end. */
export async function measure (load: Load): Promise<Sample> {
  return await start(load).done
}

/** Measures a load on one server, with the server's CPU time per answer. */
export async function measureOn (server: ServerProcess, load: Load): Promise<Sample> {
  const before = server.cpuMicros()
  const measured = await measure(load)
  const after = server.cpuMicros()
  const answers = Object.values(measured.statusCodes).reduce((sum, count) => sum + count, 0)
  if (before === undefined || after === undefined || answers === 0) return measured
  return { ...measured, serverCpuPerRequest: (after - before) / answers }
}

/** A sample of a load whose answers must all have `status` (2xx by default), with no connection error. */
export function expectStatus (name: string, measured: Sample, status?: string): Sample {
  const failures = Object.entries(measured.statusCodes).filter(([code]) => status === undefined ? !code.startsWith('2') : code !== status)
  if (failures.length > 0 || measured.errors > 0) {
    throw new Error(`${name}: unexpected answers ${JSON.stringify(Object.fromEntries(failures))}, ${measured.errors} errors`)
  }
  return measured
}

const BENCHMARKS_FILE = join(ROOT, 'docs', 'benchmarks.md')

/**
 * Replaces the section of docs/benchmarks.md between `<!-- bench:NAME -->` and
 * `<!-- /bench:NAME -->` (appending it when absent), so each scenario rewrites
 * only its own results.
 */
export function writeSection (name: string, markdown: string): void {
  const open = `<!-- bench:${name} -->`
  const close = `<!-- /bench:${name} -->`
  const current = existsSync(BENCHMARKS_FILE) ? readFileSync(BENCHMARKS_FILE, 'utf8') : '# Benchmarks\n'
  const section = `${open}\n${markdown.trim()}\n${close}`
  const start = current.indexOf(open)
  const end = current.indexOf(close)
  const next = start === -1 || end === -1
    ? `${current.trimEnd()}\n\n${section}\n`
    : `${current.slice(0, start)}${section}${current.slice(end + close.length)}`
  writeFileSync(BENCHMARKS_FILE, next)
}
