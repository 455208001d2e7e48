import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { expectStatus, measure, median, setting, startServer, writeSection, type Load, type ServerProcess } from './harness.js'

// `npm run bench:next-tick` (issue 10): why the same server answers at two speeds. Node's
// process.nextTick builds each tick object from an object literal with computed keys; once V8
// has seen that literal produce several maps (full garbage collections drop the maps of short-lived
// tick objects, and new ones are made), the literal's property definitions turn megamorphic and
// every tick object is built in the runtime, for the rest of the process's life. A server that
// runs full collections under load (any app bigger than a one-route benchmark) pays it; a tiny one
// may never. This benchmark reads V8's feedback for the literal in each server of
// `bench:cold-path` (hot, one token) after the same load, and measures the no-authentication
// server in both states, so the plugin's ratios can be read against the right baseline.
//
// Environment: BENCH_DURATION (seconds per measurement, default 2), BENCH_ROUNDS (default 5).

const WARMUP_SECONDS = 2
const CONNECTIONS = 32

interface Variant {
  readonly label: string
  readonly env: Record<string, string>
  /** Six full collections during the warm-up: puts the server in the megamorphic state. */
  readonly collect: boolean
}

interface Target {
  readonly variant: Variant
  readonly server: ServerProcess
  readonly tokens: readonly string[]
  readonly lines: string[]
  readonly rates: number[]
}

const VARIANTS: readonly Variant[] = [
  { label: 'no authentication', env: { BENCH_MODE: 'none' }, collect: false },
  { label: 'no authentication, six full collections during the warm-up', env: { BENCH_MODE: 'none' }, collect: true },
  { label: '@fastify/jwt by hand', env: { BENCH_MODE: 'jwt' }, collect: false },
  { label: 'plugin', env: { BENCH_MODE: 'plugin' }, collect: false },
  { label: 'no authentication, plugin registered (/me open)', env: { BENCH_MODE: 'plugin', BENCH_OPEN: '1' }, collect: false }
]

const tempDir = mkdtempSync(join(tmpdir(), 'next-tick-'))

async function startTarget (variant: Variant, index: number): Promise<Target> {
  const tokenFile = join(tempDir, `tokens-${index}.txt`)
  const lines: string[] = []
  const server = await startServer(`next-tick-${index}`, 'bench/cold-path-server.ts', {
    env: { ...variant.env, BENCH_TOKENS: '1', BENCH_V8_STATE: '1', BENCH_TOKEN_FILE: tokenFile },
    nodeArgs: ['--allow-natives-syntax'],
    onLine: (line) => lines.push(line)
  })
  const tokens = readFileSync(tokenFile, 'utf8').split('\n').filter((line) => line !== '')
  return { variant, server, tokens, lines, rates: [] }
}

function loadOf (target: Target, seconds: number): Load {
  return { url: `${target.server.url}/me`, connections: CONNECTIONS, duration: seconds, tokens: target.tokens }
}

async function warmUp (target: Target): Promise<void> {
  const load = measure(loadOf(target, WARMUP_SECONDS))
  if (target.variant.collect) {
    await sleep(500)
    target.server.signal('SIGHUP')
  }
  expectStatus(`warm-up ${target.variant.label}`, await load)
}

// The states of the literal's property definitions in the feedback `%DebugPrint(process.nextTick)` prints
async function nextTickState (target: Target): Promise<string> {
  target.lines.length = 0
  target.server.signal('SIGUSR2')
  await sleep(500)
  const states = target.lines.flatMap((line, index) => line.includes('DefineKeyedOwnPropertyInLiteral')
    ? [/(MONOMORPHIC|POLYMORPHIC|MEGAMORPHIC|UNINITIALIZED)/.exec(line)?.[1] ?? '?']
    : []).map((state) => state.toLowerCase())
  if (states.length === 0) return 'not found (this Node prints no feedback for it)'
  return states.includes('megamorphic') ? `**megamorphic** (${states.join(', ')})` : `monomorphic (${states.join(', ')})`
}

async function main (): Promise<void> {
  const seconds = setting('BENCH_DURATION', 2)
  const rounds = setting('BENCH_ROUNDS', 5, 15)
  const loadBefore = loadavg()[0] as number
  const targets: Target[] = []
  try {
    for (const [index, variant] of VARIANTS.entries()) targets.push(await startTarget(variant, index))
    for (const target of targets) await warmUp(target)
    for (let round = 0; round < rounds; round++) {
      for (let step = 0; step < targets.length; step++) {
        const target = targets[(round + step) % targets.length] as Target
        const sample = expectStatus(target.variant.label, await measure(loadOf(target, seconds)))
        target.rates.push(sample.answersPerSecond)
        process.stderr.write(`round ${round + 1}, ${target.variant.label}: ${sample.answersPerSecond.toFixed(0)} answers/s\n`)
      }
    }
    const states: string[] = []
    for (const target of targets) states.push(await nextTickState(target))
    const none = median((targets[0] as Target).rates)
    const report = [
      '## The two speeds of one server (`npm run bench:next-tick`, issue 10)',
      '',
      `${new Date().toISOString()}, Node ${process.version}, load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after.`,
      `GET /me of \`bench:cold-path\`'s servers, one token; autocannon, ${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s after ${WARMUP_SECONDS} s of warm-up.`,
      'The state is V8\'s feedback for the property definitions of the tick-object literal in `process.nextTick`, read at the end.',
      '',
      '| server | tick-object literal | answers/s (median) | ratio to no authentication |',
      '|---|---|---:|---:|',
      ...targets.map((target, index) => `| ${target.variant.label} | ${states[index] as string} | ${median(target.rates).toFixed(0)} | ${(median(target.rates) / none).toFixed(2)} |`)
    ].join('\n')
    writeSection('next-tick', report)
    process.stdout.write(`${report}\n\nWritten to docs/benchmarks.md\n`)
  } finally {
    await Promise.all(targets.map(async (target) => await target.server.stop()))
  }
}

try {
  await main()
} finally {
  rmSync(tempDir, { recursive: true, force: true })
}
