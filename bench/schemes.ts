import { createHash, randomBytes } from 'node:crypto'
import autocannon, { type Result } from 'autocannon'
import { median, setting, startServer, type ServerProcess } from './harness.js'

// `npx tsx bench/schemes.ts`: the cost of each security scheme per request against a public
// route on the same server (bench/schemes-server.ts, its own process on 127.0.0.1), loaded by
// autocannon from this one. Two measures: the server's CPU time per answer (read from
// /proc, so other load on the machine barely moves it) and requests per second (best run).
// The ratio is public CPU per answer ÷ the route's: the share of the public route's
// throughput the route keeps when the server is the bottleneck. Prints a Markdown table.
//
// Environment: BENCH_DURATION (seconds per measurement, default 5), BENCH_ROUNDS (default 3,
// the best is kept), BCRYPT_COST (of the Basic user, default 12).

interface Scenario {
  name: string
  path: string
  headers?: () => Record<string, string>
  /** Leaves work behind (bcrypt jobs still queued when the load stops): measured once, after the others. */
  last?: boolean
}

interface Sample { result: Result, cpuMicros: number | undefined }

interface Measured { name: string, requestsPerSecond: number, cpuPerAnswer: number | undefined, statuses: string }

const BENCH_KEY = 'bench-key-0123456789abcdef'
const BENCH_OPAQUE = 'bench-opaque-token-0123456789'
const BENCH_REALM = 'bench'
const CONNECTIONS = 10
// JIT warm-up and the first fetch of the provider's keys happen before measuring
const WARMUP_SECONDS = 3

async function run (url: string, scenario: Scenario, seconds: number): Promise<Result> {
  return await new Promise((resolve, reject) => {
    autocannon({
      url,
      connections: CONNECTIONS,
      duration: seconds,
      pipelining: 1,
      timeout: 20,
      requests: [{
        method: 'GET',
        path: scenario.path,
        // Per request, so Digest gets a fresh nonce-count every time
        setupRequest: (request) => ({ ...request, headers: { ...request.headers, ...scenario.headers?.() } })
      }]
    }, (error, result) => error === null ? resolve(result) : reject(error))
  })
}

// "200 ×91234, 401 ×1": every answer counted, so a fast refusal never passes for a fast route
function statusCounts (samples: readonly Result[]): string {
  const counts = new Map<string, number>()
  for (const sample of samples) {
    for (const [code, { count }] of Object.entries(sample.statusCodeStats ?? {})) counts.set(code, (counts.get(code) ?? 0) + Number(count))
  }
  return [...counts].map(([code, count]) => `${code} ×${count}`).join(', ')
}

// Other work on the machine only ever slows a run down: the best run is the least disturbed one
function best (values: number[]): number {
  return Math.max(...values)
}

/** An RFC 7616 client for one nonce: the header of the next request, nc counting up. */
async function digestClient (url: string): Promise<() => Record<string, string>> {
  const response = await fetch(`${url}/digest`)
  const challenge = response.headers.get('www-authenticate') ?? ''
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] as string
  const opaque = /opaque="([^"]+)"/.exec(challenge)?.[1] as string
  const H = (data: string) => createHash('sha256').update(data).digest('hex')
  const ha1 = H(`johndoe:${BENCH_REALM}:secret`)
  const ha2 = H('GET:/digest')
  let count = 0
  return function nextDigest () {
    const nc = (++count).toString(16).padStart(8, '0')
    const cnonce = randomBytes(8).toString('hex')
    const reply = H(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`)
    return { authorization: `Digest username="johndoe", realm="${BENCH_REALM}", uri="/digest", algorithm=SHA-256, nonce="${nonce}", nc=${nc}, cnonce="${cnonce}", qop=auth, response="${reply}", opaque="${opaque}"` }
  }
}

async function scenarios (url: string): Promise<Scenario[]> {
  const login = await fetch(`${url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=johndoe&password=secret' })
  const jwt = (await login.json() as { access_token: string }).access_token
  const oidc = (await (await fetch(`${url}/bench/oidc-token`)).json() as { token: string }).token
  const basic = `Basic ${Buffer.from('johndoe:secret').toString('base64')}`
  return [
    { name: 'public route (baseline)', path: '/public' },
    { name: 'OAuth2 password bearer (JWT)', path: '/password', headers: () => ({ authorization: `Bearer ${jwt}` }) },
    { name: 'API key (header, static keys)', path: '/api-key', headers: () => ({ 'x-api-key': BENCH_KEY }) },
    { name: 'HTTP Bearer (opaque, verify callback)', path: '/bearer', headers: () => ({ authorization: `Bearer ${BENCH_OPAQUE}` }) },
    { name: 'OpenID Connect (ES256 JWT, cached JWKS)', path: '/oidc', headers: () => ({ authorization: `Bearer ${oidc}` }) },
    { name: 'HTTP Digest (SHA-256, qop=auth)', path: '/digest', headers: await digestClient(url) },
    { name: 'any of: API key or bearer, bearer sent', path: '/any-of', headers: () => ({ authorization: `Bearer ${jwt}` }) },
    { name: `HTTP Basic (bcrypt cost ${process.env.BCRYPT_COST ?? 12})`, path: '/basic', headers: () => ({ authorization: basic }), last: true }
  ]
}

async function main (): Promise<void> {
  const seconds = setting('BENCH_DURATION', 5)
  const rounds = setting('BENCH_ROUNDS', 3)
  const server: ServerProcess = await startServer('schemes', 'bench/schemes-server.ts', { env: { BENCH_KEY, BENCH_OPAQUE, BENCH_REALM } })
  try {
    const all = await scenarios(server.url)
    const cheap = all.filter((scenario) => scenario.last !== true)
    for (const scenario of cheap) await run(server.url, scenario, WARMUP_SECONDS)
    // Rounds go through every route in turn, so load from elsewhere on the machine hits all alike
    const samples = new Map<Scenario, Sample[]>(all.map((scenario) => [scenario, []]))
    const measure = async (scenario: Scenario, round: number): Promise<void> => {
      const before = server.cpuMicros()
      const result = await run(server.url, scenario, seconds)
      const after = server.cpuMicros()
      const answers = Object.values(result.statusCodeStats ?? {}).reduce((sum, { count }) => sum + Number(count), 0)
      const cpu = before === undefined || after === undefined ? undefined : (after - before) / answers
      samples.get(scenario)?.push({ result, cpuMicros: cpu })
      process.stderr.write(`round ${round}, ${scenario.name}: ${Math.round(result['2xx'] / result.duration)} req/s, ${cpu?.toFixed(1) ?? '?'} µs CPU per answer\n`)
    }
    for (let round = 1; round <= rounds; round++) {
      for (const scenario of cheap) await measure(scenario, round)
    }
    for (const scenario of all.filter((scenario) => scenario.last === true)) await measure(scenario, 1)
    const results: Measured[] = all.map((scenario) => {
      const measured = samples.get(scenario) as Sample[]
      const cpu = measured.map((sample) => sample.cpuMicros).filter((value) => value !== undefined)
      return {
        name: scenario.name,
        requestsPerSecond: best(measured.map(({ result }) => result['2xx'] / result.duration)),
        cpuPerAnswer: cpu.length === 0 ? undefined : median(cpu),
        statuses: statusCounts(measured.map(({ result }) => result))
      }
    })
    const baseline = results[0] as Measured
    console.log('| scheme | server CPU per answer | ratio to public (CPU) | requests/s (best run) | statuses |\n|---|---:|---:|---:|---|')
    for (const result of results) {
      const ratio = result.cpuPerAnswer === undefined || baseline.cpuPerAnswer === undefined ? 'n/a' : (baseline.cpuPerAnswer / result.cpuPerAnswer).toFixed(2)
      const cpu = result.cpuPerAnswer === undefined ? 'n/a' : `${result.cpuPerAnswer.toFixed(1)} µs`
      console.log(`| ${result.name} | ${cpu} | ${ratio} | ${Math.round(result.requestsPerSecond)} | ${result.statuses} |`)
    }
    console.log(`\n${CONNECTIONS} connections, ${rounds} interleaved rounds of ${seconds} s per route (CPU: median; requests/s: best), HTTP Basic one run last, Node ${process.version}.`)
    // autocannon builds each connection's first request before the connection opens: with Digest, one of
    // them may reach the server more than 32 counts behind the others and be refused as stale (a real
    // client retries with the fresh nonce); these 401s are the load generator's, not the scheme's
    console.log('Digest: a few 401 FST_OAUTH2_STALE_NONCE per run are requests autocannon built before their connection opened (> 32 counts late).')
  } finally {
    await server.stop()
  }
}

await main()
