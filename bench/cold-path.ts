import { createHmac } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { expectStatus, measure, measureOn, median, setting, startServer, writeSection, type Load, type Sample, type ServerProcess } from './harness.js'

// `npm run bench:cold-path` (issue 10): what authentication costs when requests carry many
// users' tokens in turn, and whether that cost stays flat as the app grows.
//
// 1. Overhead: GET /me through the plugin, hand-written on @fastify/jwt, and without
//    authentication (bench/cold-path-server.ts, one process each), with one token reused (hot)
//    and with BENCH_TOKENS distinct tokens in turn (cold). Ratios plugin / none, plugin / jwt.
//    The servers issue their own tokens, which the plugin caches as it issues them; the plugin
//    with its cache off verifies every request: the verification a token's first use costs on
//    an instance that did not issue it.
// 2. Growth, plugin only, cold: 100 and 1,000 more protected routes; 100 declared scopes with a
//    20-scope requirement; revocation checks on with 0 and 100,000 revoked jtis in the store;
//    refusals (bad signature, expired) against valid requests. Ratios to the small app.
//
// Environment: BENCH_DURATION (seconds per measurement, default 4), BENCH_ROUNDS (default 3,
// medians), BENCH_TOKENS (cold token count, default 100000), BENCH_CONNECTIONS (default 32),
// BENCH_COLD_WARMUP (seconds of warm-up with many tokens, default 12: two passes over them, so
// the rounds measure an API that has been serving its users, not the seconds after its start).
// Rounds interleave every server, so a slow spell of the machine spreads over all of them.

const SECRET = 'cold-path-benchmark-secret-of-32-bytes-or-more'
const WARMUP_SECONDS = 2
const COLD_WARMUP_SECONDS = setting('BENCH_COLD_WARMUP', 12)
const REVOKED = 100_000

interface Variant {
  readonly label: string
  readonly env: Record<string, string>
  /** What the load sends; the status every answer must have. */
  readonly tokens: 'valid' | 'bad-signature' | 'expired'
  readonly status: string
}

interface Target {
  readonly variant: Variant
  readonly server: ServerProcess
  readonly tokens: readonly string[]
  readonly samples: Sample[]
}

const tempDir = mkdtempSync(join(tmpdir(), 'cold-path-'))

function b64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

// A different signature of the right length and alphabet: refused by the signature check itself, not before it
function withBadSignature (token: string): string {
  const dot = token.lastIndexOf('.')
  const signature = token.slice(dot + 1)
  const flipped = signature[10] === 'A' ? 'B' : 'A'
  return `${token.slice(0, dot + 1)}${signature.slice(0, 10)}${flipped}${signature.slice(11)}`
}

function expiredToken (index: number): string {
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }))}.${b64url(JSON.stringify({ sub: `u${index}`, scope: 'me scope1', iat: now - 7200, exp: now - 3600, jti: b64url(`jti-${index}`) }))}`
  return `${input}.${b64url(createHmac('sha256', SECRET).update(input).digest())}`
}

function tokensFor (variant: Variant, issued: readonly string[]): string[] {
  if (variant.tokens === 'bad-signature') return issued.map(withBadSignature)
  if (variant.tokens === 'expired') return issued.map((_, index) => expiredToken(index))
  return [...issued]
}

async function startTarget (variant: Variant, index: number): Promise<Target> {
  const tokenFile = join(tempDir, `tokens-${index}.txt`)
  const server = await startServer(`cold-path-${index}`, 'bench/cold-path-server.ts', { env: { ...variant.env, BENCH_TOKEN_FILE: tokenFile } })
  const issued = readFileSync(tokenFile, 'utf8').split('\n').filter((line) => line !== '')
  return { variant, server, tokens: tokensFor(variant, issued), samples: [] }
}

function loadOf (target: Target, connections: number, seconds: number): Load {
  return { url: `${target.server.url}/me`, connections, duration: seconds, tokens: target.tokens }
}

/** Starts every variant, warms each up, then measures them all `rounds` times, interleaved. */
async function measureAll (variants: readonly Variant[], rounds: number, seconds: number, connections: number): Promise<Target[]> {
  const targets: Target[] = []
  try {
    for (const [index, variant] of variants.entries()) targets.push(await startTarget(variant, index))
    for (const target of targets) {
      const warmUp = target.tokens.length > 1 ? COLD_WARMUP_SECONDS : WARMUP_SECONDS
      expectStatus(`warm-up ${target.variant.label}`, await measure(loadOf(target, connections, warmUp)), target.variant.status)
    }
    for (let round = 0; round < rounds; round++) {
      // Each round starts one target later, so no variant always runs first (or last)
      for (let step = 0; step < targets.length; step++) {
        const target = targets[(round + step) % targets.length] as Target
        const sample = await measureOn(target.server, loadOf(target, connections, seconds))
        target.samples.push(expectStatus(target.variant.label, sample, target.variant.status))
        process.stderr.write(`round ${round + 1}, ${target.variant.label}: ${sample.answersPerSecond.toFixed(0)} answers/s, ${sample.serverCpuPerRequest?.toFixed(1) ?? '?'} µs CPU per answer\n`)
      }
    }
    return targets
  } finally {
    for (const target of targets) {
      const rss = target.server.rssBytes()
      if (rss !== undefined) rssByLabel.set(target.variant.label, rss)
    }
    await Promise.all(targets.map(async (target) => await target.server.stop()))
  }
}

const rssByLabel = new Map<string, number>()

function rate (target: Target): number {
  return median(target.samples.map((sample) => sample.answersPerSecond))
}

function cpu (target: Target): number | undefined {
  const values = target.samples.map((sample) => sample.serverCpuPerRequest)
  return values.every((value) => value !== undefined) ? median(values as number[]) : undefined
}

function row (target: Target, reference: Target): string {
  const own = cpu(target)
  const base = cpu(reference)
  const cpuRatio = own === undefined || base === undefined ? '–' : (base / own).toFixed(2)
  const rss = rssByLabel.get(target.variant.label)
  return `| ${target.variant.label} | ${rate(target).toFixed(0)} | ${(rate(target) / rate(reference)).toFixed(2)} | ${own?.toFixed(1) ?? '–'} | ${cpuRatio} | ${rss === undefined ? '–' : (rss / 2 ** 20).toFixed(0)} |`
}

const HEADER = ['| | answers/s (median) | ratio | server CPU µs/answer | ratio by CPU | RSS MiB at the end |', '|---|---:|---:|---:|---:|---:|']

const OVERHEAD_MODES = {
  plugin: { label: 'plugin', env: { BENCH_MODE: 'plugin' } },
  jwt: { label: '@fastify/jwt by hand', env: { BENCH_MODE: 'jwt' } },
  none: { label: 'no authentication', env: { BENCH_MODE: 'none' } },
  // The same process as the plugin's but for the check: what authenticating costs in an app of that size
  open: { label: 'no authentication, plugin registered (/me open)', env: { BENCH_MODE: 'plugin', BENCH_OPEN: '1' } },
  // The plugin caches the tokens it issues: with the cache off every request pays the verification
  // a token's first use pays on an instance that did not issue it (which also stores it)
  uncached: { label: 'plugin, cache off (every request verified)', env: { BENCH_MODE: 'plugin', BENCH_CACHE: '0' } }
} as const

function overheadVariants (tokens: number): Variant[] {
  return Object.values(OVERHEAD_MODES).map((mode) => ({
    label: `${mode.label}, ${tokens === 1 ? 'hot (1 token)' : `cold (${tokens.toLocaleString('en-US')} tokens)`}`,
    env: { ...mode.env, BENCH_TOKENS: String(tokens) },
    tokens: 'valid',
    status: '200'
  }))
}

function growthVariants (tokens: number): Variant[] {
  const plugin = (label: string, env: Record<string, string>, kind: Variant['tokens'] = 'valid', status = '200'): Variant => ({
    label, env: { BENCH_MODE: 'plugin', BENCH_TOKENS: String(tokens), ...env }, tokens: kind, status
  })
  return [
    plugin('small app: /me only, 2 scopes, 1 required', {}),
    plugin('+ 100 protected routes', { BENCH_ROUTES: '100' }),
    plugin('+ 1,000 protected routes', { BENCH_ROUTES: '1000' }),
    plugin('100 declared scopes (all granted), 20 required', { BENCH_SCOPES: '100', BENCH_REQUIRED: '20' }),
    plugin('revocation checks on, 0 revoked jtis', { BENCH_REVOKED: '0' }),
    plugin(`revocation checks on, ${REVOKED.toLocaleString('en-US')} revoked jtis in the store`, { BENCH_REVOKED: String(REVOKED) }),
    plugin(`more tokens in turn than the verified-token cache holds (cache ${Math.floor(tokens / 2).toLocaleString('en-US')})`, { BENCH_CACHE: String(Math.floor(tokens / 2)) }),
    plugin('refusals: bad signature (401)', {}, 'bad-signature', '401'),
    plugin('refusals: expired (401)', {}, 'expired', '401')
  ]
}

function overheadTable (targets: readonly Target[]): string[] {
  const lines: string[] = []
  const size = Object.keys(OVERHEAD_MODES).length
  for (let index = 0; index < targets.length; index += size) {
    const [plugin, jwt, none, open, uncached] = targets.slice(index, index + size) as [Target, Target, Target, Target, Target]
    lines.push('', ...HEADER, row(none, none), row(open, none), row(jwt, none), row(plugin, none), row(uncached, none),
      '', `plugin / no authentication: **${(rate(plugin) / rate(none)).toFixed(2)}**; plugin / @fastify/jwt: **${(rate(plugin) / rate(jwt)).toFixed(2)}**; ` +
      `plugin / no authentication in the same app: **${(rate(plugin) / rate(open)).toFixed(2)}**; ` +
      `plugin, cache off / @fastify/jwt: **${(rate(uncached) / rate(jwt)).toFixed(2)}**`)
  }
  return lines
}

async function main (): Promise<void> {
  const seconds = setting('BENCH_DURATION', 4)
  const rounds = setting('BENCH_ROUNDS', 3, 9)
  const tokens = setting('BENCH_TOKENS', 100_000, 1_000_000)
  const connections = setting('BENCH_CONNECTIONS', 32, 1000)
  const loadBefore = loadavg()[0] as number
  const overhead = [...await measureAll(overheadVariants(1), rounds, seconds, connections), ...await measureAll(overheadVariants(tokens), rounds, seconds, connections)]
  const growth = await measureAll(growthVariants(tokens), rounds, seconds, connections)
  const small = growth[0] as Target
  const report = [
    '## Cold path and growth (`npm run bench:cold-path`, issue 10)',
    '',
    `${new Date().toISOString()}, Node ${process.version}, load average ${loadBefore.toFixed(1)} before, ${(loadavg()[0] as number).toFixed(1)} after.`,
    `autocannon in the driver process, ${connections} connections, ${rounds} interleaved rounds of ${seconds} s after ${WARMUP_SECONDS} s of warm-up ` +
      `(${COLD_WARMUP_SECONDS} s with many tokens); tokens sent in turn, each load going on where the last one stopped.`,
    'Ratios are to the first row of each table, same run. "Ratio by CPU" is the server CPU per answer of the first row ÷ this row\'s:',
    'the throughput ratio the server alone would give, less sensitive to other load on the machine than answers/s.',
    '',
    '### Overhead: the same GET /me five ways',
    ...overheadTable(overhead),
    '',
    `### Growth: plugin, cold (${tokens.toLocaleString('en-US')} tokens in turn)`,
    '',
    ...HEADER,
    ...growth.map((target) => row(target, small)),
    '',
    '100 scopes make each token about 700 bytes longer (the `scope` claim), so its signature covers more bytes.'
  ].join('\n')
  writeSection('cold-path', report)
  process.stdout.write(`${report}\n\nWritten to docs/benchmarks.md\n`)
}

try {
  await main()
} finally {
  rmSync(tempDir, { recursive: true, force: true })
}
