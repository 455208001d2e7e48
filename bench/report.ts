import { median, type Sample } from './harness.js'

/** The samples of one round, every measurement once. */
export interface Round {
  /** (a) GET /health. */
  health: Sample
  /** (b) GET /users/me through the plugin. */
  plugin: Sample
  /** (c) GET /users/me by hand on @fastify/jwt. */
  jwt: Sample
  /** (f) The same lookup and answer without authentication, on the @fastify/jwt server. */
  ceiling: Sample
  /** (d) GET /users/me through the plugin during a login flood, and the flood itself. */
  flood: Sample
  floodLogins: Sample
  /** (e) The same with a flood larger than the bcrypt gate holds, and that flood. */
  overflow: Sample
  overflowLogins: Sample
}

/** How the run was made: printed above the results. */
export interface RunInfo {
  date: string
  machine: string
  /** The 1-minute load average around the run: anything else running skews the numbers. */
  load: string
  versions: string
  connections: number
  floodConnections: number
  overflowConnections: number
  warmupSeconds: number
  durationSeconds: number
  rounds: number
  bcryptCost: number
}

interface Ratio {
  label: string
  value: number
  target: number | undefined
}

const MEASUREMENTS: ReadonlyArray<[keyof Round, string, string]> = [
  ['health', 'a', 'GET /health, public (baseline)'],
  ['plugin', 'b', 'GET /users/me through the plugin'],
  ['jwt', 'c', 'GET /users/me by hand on @fastify/jwt'],
  ['flood', 'd', 'GET /users/me through the plugin, during a login flood'],
  ['overflow', 'e', 'GET /users/me through the plugin, during an overflowing login flood'],
  ['ceiling', 'f', 'GET /users/johndoe: the same lookup and answer without authentication']
]

function fixed (value: number, digits = 0): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function cpuCell (rounds: readonly Round[], key: keyof Round): string {
  const values = rounds.map((round) => round[key].serverCpuPerRequest)
  return values.every((value) => value !== undefined) ? fixed(median(values as number[]), 1) : '–'
}

function medianOf (rounds: readonly Round[], key: keyof Round, pick: (sample: Sample) => number): number {
  return median(rounds.map((round) => pick(round[key])))
}

/** The ratios the project tracks, from the medians of the same run. */
export function ratios (rounds: readonly Round[]): Ratio[] {
  const rate = (key: keyof Round): number => medianOf(rounds, key, (sample) => sample.requestsPerSecond)
  const list: Ratio[] = [
    { label: 'plugin / health (b / a)', value: rate('plugin') / rate('health'), target: 0.85 },
    { label: 'plugin / @fastify/jwt (b / c)', value: rate('plugin') / rate('jwt'), target: 1.5 },
    { label: 'flood / idle (d / b)', value: rate('flood') / rate('plugin'), target: 0.5 },
    { label: 'overflowing flood / idle (e / b)', value: rate('overflow') / rate('plugin'), target: undefined }
  ]
  const cpu = (key: keyof Round): number | undefined => {
    const values = rounds.map((round) => round[key].serverCpuPerRequest)
    return values.every((value) => value !== undefined) ? median(values as number[]) : undefined
  }
  const [health, plugin, jwt, ceiling] = [cpu('health'), cpu('plugin'), cpu('jwt'), cpu('ceiling')]
  list.push({ label: 'plugin / no authentication (b / f)', value: rate('plugin') / rate('ceiling'), target: undefined })
  // What the throughput ratios would be if the server alone set the pace: the inverse of its CPU cost per answer
  if (health !== undefined && plugin !== undefined && jwt !== undefined && ceiling !== undefined) {
    list.push(
      { label: 'plugin / health by server CPU per answer (a / b)', value: health / plugin, target: undefined },
      { label: 'plugin / @fastify/jwt by server CPU per answer (c / b)', value: jwt / plugin, target: undefined },
      { label: 'authentication cost alone, @fastify/jwt / plugin ((c − f) / (b − f) by server CPU)', value: (jwt - ceiling) / (plugin - ceiling), target: undefined }
    )
  }
  return list
}

/** Whether every ratio with a target meets it. */
export function targetsMet (rounds: readonly Round[]): boolean {
  return ratios(rounds).every(({ value, target }) => target === undefined || value >= target)
}

function loginRates (sample: Sample): string {
  const rate = (status: string): string => fixed((sample.statusCodes[status] ?? 0) / sample.durationSeconds, 1)
  return `${rate('200')} | ${rate('503')}`
}

/** The Markdown report: settings, median results, ratios against targets, every round. */
export function renderReport (info: RunInfo, rounds: readonly Round[]): string {
  const lines = [
    '## Protected route, login floods (`npm run bench`)',
    '',
    'Raw results of `npm run bench` ([bench/run.ts](../bench/run.ts)), this section rewritten by each run.',
    '',
    `- Date: ${info.date}`,
    `- Machine: ${info.machine}`,
    `- Load average (1 min): ${info.load}`,
    `- Versions: ${info.versions}`,
    `- Method: each server runs in its own process on 127.0.0.1; autocannon runs in the parent process with ${info.connections} connections,`,
    `  pipelining 1. Every target is warmed up for ${info.warmupSeconds} s, then each measurement lasts ${info.durationSeconds} s and the`,
    `  ${info.rounds} rounds run interleaved (a, b, c, f, d, e, a, b, …); the tables show the median. req/s counts 2xx answers only.`,
    '- Servers: (a), (b), (d), (e) are `examples/app/server.ts` (the example server as configured there, users in SQLite',
    '  `:memory:`); (c) and (f) are `bench/fastify-jwt-server.ts`: the same server options, users table and response schema,',
    '  with `/users/me` written on `@fastify/jwt` as its README shows (`onRequest: request.jwtVerify()`), then the scope',
    '  check and the user lookup, and `/users/johndoe` answering the same without authentication.',
    '  All `/users/me` requests carry one access token issued by the example server before the run (scopes `me items`).',
    `- Floods: another autocannon, in its own process, posts \`username=johndoe&password=secret\` to \`POST /token\` with ${info.floodConnections} connections (d)`,
    `  or ${info.overflowConnections} (e, more than the bcrypt gate queues), bcrypt cost ${info.bcryptCost}. It starts 1 s before the`,
    '  measured load and stops after it; the server finishes the queued logins before the next measurement.',
    '',
    `### Results (median of ${info.rounds})`,
    '',
    '| | Measurement | req/s | mean latency ms | p99 latency ms | server CPU µs/answer |',
    '|---|---|---:|---:|---:|---:|'
  ]
  for (const [key, letter, label] of MEASUREMENTS) {
    const rate = fixed(medianOf(rounds, key, (sample) => sample.requestsPerSecond))
    const mean = fixed(medianOf(rounds, key, (sample) => sample.latencyMean), 2)
    const p99 = fixed(medianOf(rounds, key, (sample) => sample.latencyP99), 0)
    lines.push(`| ${letter} | ${label} | ${rate} | ${mean} | ${p99} | ${cpuCell(rounds, key)} |`)
  }
  lines.push(
    '',
    'Server CPU is the server process\'s user + system time (`/proc/<pid>/stat`) over the answers of the',
    'measurement; it is left out under a flood, where it includes bcrypt.',
    '',
    '### Ratios',
    '',
    '| Ratio | Value | Target | |',
    '|---|---:|---:|---|'
  )
  for (const { label, value, target } of ratios(rounds)) {
    const verdict = target === undefined ? 'informational' : value >= target ? 'met' : '**missed**'
    lines.push(`| ${label} | ${fixed(value, 2)} | ${target === undefined ? '–' : `≥ ${target}`} | ${verdict} |`)
  }
  lines.push(
    '',
    '### Every round',
    '',
    '| Round | a req/s | b req/s | c req/s | d req/s | e req/s | f req/s | a, b, c, f server CPU µs/answer | d flood: 200/s | d flood: 503/s | e flood: 200/s | e flood: 503/s |',
    '|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|'
  )
  for (const [index, round] of rounds.entries()) {
    const rates = MEASUREMENTS.map(([key]) => fixed(round[key].requestsPerSecond)).join(' | ')
    const cpu = (['health', 'plugin', 'jwt', 'ceiling'] as const).map((key) => cpuCell([round], key)).join(', ')
    lines.push(`| ${index + 1} | ${rates} | ${cpu} | ${loginRates(round.floodLogins)} | ${loginRates(round.overflowLogins)} |`)
  }
  lines.push('')
  return lines.join('\n')
}
