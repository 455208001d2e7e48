import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon, { type Result } from 'autocannon'

// `npx tsx bench/schemes.ts`: the cost of each security scheme per request, as the ratio of
// its throughput to a public route's on the same server (bench/schemes-server.ts, its own
// process on 127.0.0.1), measured by autocannon from this one. Prints a Markdown table.
//
// Environment: BENCH_DURATION (seconds per measurement, default 5), BENCH_ROUNDS (default 3,
// the median is kept), BCRYPT_COST (of the Basic user, default 12).

// Same declaration as bench/refresh.ts (identical declarations merge)
declare module 'autocannon' {
  interface Options {
    requests?: Array<{
      method?: 'GET' | 'POST'
      path?: string
      headers?: Record<string, string>
      body?: string
      setupRequest?: (request: { headers?: Record<string, string>, body?: string }) => unknown
      onResponse?: (status: number, body: string) => void
    }>
  }
}

interface Scenario {
  name: string
  path: string
  headers?: () => Record<string, string>
}

interface Measured { name: string, requestsPerSecond: number, latencyMean: number, statuses: string }

const BENCH_KEY = 'bench-key-0123456789abcdef'
const BENCH_OPAQUE = 'bench-opaque-token-0123456789'
const BENCH_REALM = 'bench'
const CONNECTIONS = 10
// JIT warm-up and the first fetch of the provider's keys happen before measuring
const WARMUP_SECONDS = 3

function setting (name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value < 1 || value > 60) throw new Error(`${name} must be an integer from 1 to 60`)
  return value
}

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

/** Starts bench/schemes-server.ts in its own process (never sharing an event loop with autocannon). */
async function startServer (): Promise<{ url: string, child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('schemes-server.ts', import.meta.url))], {
    // The repository root, where tsx resolves
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, BENCH_KEY, BENCH_OPAQUE, BENCH_REALM },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const [url] = await Promise.race([
    once(lines, 'line') as Promise<[string]>,
    once(child, 'exit').then(() => { throw new Error('the schemes server exited before listening') })
  ])
  lines.close()
  return { url, child }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
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
    { name: `HTTP Basic (bcrypt cost ${process.env.BCRYPT_COST ?? 12})`, path: '/basic', headers: () => ({ authorization: basic }) }
  ]
}

async function main (): Promise<void> {
  const seconds = setting('BENCH_DURATION', 5)
  const rounds = setting('BENCH_ROUNDS', 3)
  const server = await startServer()
  try {
    const results: Measured[] = []
    for (const scenario of await scenarios(server.url)) {
      await run(server.url, scenario, WARMUP_SECONDS)
      const samples: Result[] = []
      for (let round = 0; round < rounds; round++) samples.push(await run(server.url, scenario, seconds))
      const statuses = [...new Set(samples.flatMap((sample) => Object.keys(sample.statusCodeStats)))].join(' ')
      results.push({
        name: scenario.name,
        requestsPerSecond: median(samples.map((sample) => sample['2xx'] / sample.duration)),
        latencyMean: median(samples.map((sample) => sample.latency.average)),
        statuses
      })
      process.stderr.write(`${scenario.name}: ${Math.round(results.at(-1)?.requestsPerSecond ?? 0)} req/s\n`)
    }
    const baseline = (results[0] as Measured).requestsPerSecond
    console.log('| scheme | requests/s | of public | mean latency | statuses |\n|---|---:|---:|---:|---|')
    for (const result of results) {
      console.log(`| ${result.name} | ${Math.round(result.requestsPerSecond)} | ${(result.requestsPerSecond / baseline).toFixed(2)} | ${result.latencyMean.toFixed(2)} ms | ${result.statuses} |`)
    }
    console.log(`\n${CONNECTIONS} connections, ${rounds} × ${seconds} s per route (median), Node ${process.version}.`)
  } finally {
    const exited = once(server.child, 'exit')
    server.child.kill('SIGTERM')
    await exited
  }
}

await main()
