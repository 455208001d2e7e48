import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The repository root: servers run from it, as `npm run example` does. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url))

const START_TIMEOUT_MS = 60_000
const STOP_TIMEOUT_MS = 15_000
// Both servers log their URL once, in Fastify's JSON lines: "Example server on http://…", "Baseline server on http://…"
const START_LINE = / on (http:\/\/[^\s]+)/

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

function cpuMicrosOf (pid: number | undefined): number | undefined {
  if (process.platform !== 'linux' || pid === undefined) return undefined
  // proc(5): after "(comm)", fields 14 and 15 of the line are utime and stime
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1e6 / ticksPerSecond()
}

function exited (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
}

/**
 * Runs `script` with `node --import tsx` and resolves once it logged its URL.
 * Any other line it logs is copied to stderr, prefixed with `name`.
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

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no start line within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`${name}: exited (${code ?? signal}) before listening`))
    })
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const match = START_LINE.exec((JSON.parse(line) as { msg?: string }).msg ?? '')
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1] as string)
      } else {
        process.stderr.write(`[${name}] ${line}\n`)
      }
    })
  }).catch((error: unknown) => {
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
    cpuMicros: () => cpuMicrosOf(child.pid)
  }
}
