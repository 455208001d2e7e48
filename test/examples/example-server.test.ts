import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import t, { type Test } from 'tap'
import { childEnvironment } from '../helpers/child-env.js'

// examples/app/server.ts run as `npm run example` runs it, over real HTTP on loopback

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SECRET = 'example-test-secret-of-at-least-32-bytes'
const JOHNDOE = { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false }
const START_TIMEOUT = 30_000
const VARIABLES = ['PORT', 'HOST', 'JWT_SECRET', 'BCRYPT_COST', 'DATABASE', 'REDIS_URL', 'REDIS_CLUSTER']

interface LogLine {
  level: number
  msg: string
  event?: string
}

interface Server {
  child: ChildProcess
  /** Base URL, from the start line. */
  url: string
  /** Every log line so far. */
  lines: LogLine[]
  stderr: () => string
  /** Resolves when the process and every process holding its output are gone. */
  closed: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

function environment (overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env = childEnvironment()
  for (const name of VARIABLES) delete env[name]
  return { ...env, HOST: '127.0.0.1', PORT: '0', BCRYPT_COST: '4', ...overrides }
}

/** `npx tsx examples/app/server.ts` (what `npm run example` runs) or a bare `node --import tsx`. */
function launch (test: Test, via: 'npx' | 'node', env: Record<string, string>): ChildProcess {
  const [command, args] = via === 'npx'
    ? ['npx', ['tsx', 'examples/app/server.ts']] as const
    : [process.execPath, ['--import', 'tsx', 'examples/app/server.ts']] as const
  // detached: its own process group, so a signal reaches npx, tsx and node as a terminal's Ctrl-C does
  const child = spawn(command, args, { cwd: ROOT, env: environment(env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  test.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), 'SIGKILL')
  })
  return child
}

function watch (child: ChildProcess) {
  const lines: LogLine[] = []
  let stdout = ''
  let stderr = ''
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const closed = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }))
  })
  const reader = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  reader.on('line', (line) => {
    stdout += `${line}\n`
    lines.push(JSON.parse(line) as LogLine)
  })
  return { lines, closed, stdout: () => stdout, stderr: () => stderr }
}

async function start (test: Test, via: 'npx' | 'node', env: Record<string, string>): Promise<Server> {
  const child = launch(test, via, env)
  const watched = watch(child)
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start line within ${START_TIMEOUT} ms: ${watched.stderr()}`)), START_TIMEOUT)
    const poll = setInterval(() => {
      const match = watched.lines.map((line) => /^Example server on (http:\/\/\S+) /.exec(line.msg)).find((m) => m !== null)
      if (match == null) return
      clearInterval(poll)
      clearTimeout(timer)
      resolve(match[1] as string)
    }, 20)
    watched.closed.then(({ code }) => {
      clearInterval(poll)
      clearTimeout(timer)
      reject(new Error(`exited with ${code} before listening: ${watched.stderr()}`))
    })
  })
  return { child, url, lines: watched.lines, stderr: watched.stderr, closed: watched.closed }
}

/** Runs the server with a bad setting; resolves with its exit and output. */
async function startAndFail (test: Test, env: Record<string, string>) {
  const child = launch(test, 'node', env)
  const watched = watch(child)
  const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), START_TIMEOUT)
  const { code } = await watched.closed
  clearTimeout(timer)
  return { code, stdout: watched.stdout(), stderr: watched.stderr() }
}

async function tokenFor (url: string): Promise<{ status: number, body: { access_token: string, refresh_token: string }, text: string }> {
  const response = await fetch(`${url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'johndoe', password: 'secret' })
  })
  const text = await response.text()
  return { status: response.status, body: JSON.parse(text) as { access_token: string, refresh_token: string }, text }
}

async function getJson (url: string, token?: string): Promise<{ status: number, challenge: string | null, body: unknown, text: string }> {
  const response = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } })
  const text = await response.text()
  return { status: response.status, challenge: response.headers.get('www-authenticate'), body: JSON.parse(text), text }
}

function storedUsers (file: string): Array<{ username: string, scopes: string, disabled: number, hashed_password: string }> {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare<[], { username: string, scopes: string, disabled: number, hashed_password: string }>(
      'SELECT username, scopes, disabled, hashed_password FROM users ORDER BY username'
    ).all()
  } finally {
    db.close()
  }
}

function tempDir (test: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'oauth2-example-server-'))
  test.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('npx tsx examples/app/server.ts: first start seeds the file, serves the token flow, closes on SIGTERM; a restart reuses the file', async (t) => {
  const file = join(tempDir(t), 'users.db')

  const first = await start(t, 'npx', { DATABASE: file })
  t.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  t.same(first.lines.map(({ level, msg }) => ({ level, msg })), [
    { level: 40, msg: 'JWT_SECRET is not set: signing with a random secret, so tokens stop working when the server restarts' },
    { level: 30, msg: `Example server on ${first.url} (docs: ${first.url}/docs)` }
  ], 'a warning for the random secret, then the one start line')

  const token = await tokenFor(first.url)
  t.equal(token.status, 200)
  t.same(token.body, { access_token: token.body.access_token, token_type: 'bearer', expires_in: 1800, scope: 'me items', refresh_token: token.body.refresh_token })
  const me = await getJson(`${first.url}/users/me`, token.body.access_token)
  t.equal(me.status, 200)
  t.same(me.body, JOHNDOE)
  t.same((await getJson(`${first.url}/users/me/items`, token.body.access_token)).body, [{ item_id: 'Foo', owner: 'johndoe' }])
  t.same((await getJson(`${first.url}/status`, token.body.access_token)).body, { status: 'ok' })
  t.same((await getJson(`${first.url}/health`)).body, { status: 'ok' })
  const docs = await getJson(`${first.url}/docs/json`)
  t.equal(docs.status, 200)
  t.same((docs.body as { paths: Record<string, { get?: { security?: unknown } }> }).paths['/users/me']?.get?.security, [{ OAuth2PasswordBearer: ['me'] }])
  for (const text of [token.text, me.text]) t.notOk(/\$2[aby]\$|hash|password/i.test(text), 'no password or hash in the answer')
  t.same(first.lines.slice(2).map(({ msg, event }) => ({ msg, event })), [{ msg: 'security event', event: 'authn_login_success' }], 'requests add no log lines but the login\'s security event')

  process.kill(-(first.child.pid as number), 'SIGTERM')
  await first.closed
  t.equal(first.stderr(), '', 'nothing on stderr')
  t.equal(existsSync(`${file}-wal`), false, 'the database was closed cleanly')
  await t.rejects(fetch(`${first.url}/health`), 'no longer listening')
  const seeded = storedUsers(file)
  t.same(seeded.map(({ username, scopes, disabled }) => ({ username, scopes, disabled })), [
    { username: 'alice', scopes: 'me items', disabled: 1 },
    { username: 'johndoe', scopes: 'me items', disabled: 0 }
  ], 'the demo users were seeded')
  for (const { hashed_password: hash } of seeded) t.match(hash, /^\$2b\$04\$/, 'hashed at BCRYPT_COST')

  const second = await start(t, 'node', { DATABASE: file, JWT_SECRET: SECRET })
  t.same(second.lines.map(({ level, msg }) => ({ level, msg })), [
    { level: 30, msg: `Example server on ${second.url} (docs: ${second.url}/docs)` }
  ], 'with JWT_SECRET set: only the start line')
  const stale = await getJson(`${second.url}/users/me`, token.body.access_token)
  t.equal(stale.status, 401, 'a token signed with the previous random secret no longer works')
  t.equal(stale.challenge, 'Bearer realm="api", error="invalid_token", error_description="The access token signature is invalid"')
  const again = await tokenFor(second.url)
  t.equal(again.status, 200)
  t.same((await getJson(`${second.url}/users/me`, again.body.access_token)).body, JOHNDOE)

  second.child.kill('SIGINT')
  t.same(await second.closed, { code: 0, signal: null }, 'SIGINT closes the server and exits 0')
  t.equal(second.stderr(), '')
  t.same(storedUsers(file), seeded, 'the restart reused the stored users and hashes')
})

t.test('bad settings stop the server with one line on stderr and exit code 1', async (t) => {
  const dir = tempDir(t)
  const busy = createServer()
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => busy.close())
  const { port } = busy.address() as AddressInfo
  const cases: Array<[Record<string, string>, string]> = [
    [{ BCRYPT_COST: '3', DATABASE: ':memory:' }, 'BCRYPT_COST must be an integer from 4 to 31 (got "3")'],
    [{ JWT_SECRET: 'too-short-secret', DATABASE: ':memory:' }, 'JWT_SECRET must be at least 32 bytes (got 16)'],
    [{ JWT_SECRET: SECRET, DATABASE: join(dir, 'missing', 'users.db') }, 'Cannot open database because the directory does not exist'],
    [{ JWT_SECRET: SECRET, DATABASE: ':memory:', PORT: String(port) }, `listen EADDRINUSE: address already in use 127.0.0.1:${port}`]
  ]
  const results = await Promise.all(cases.map(async ([env]) => await startAndFail(t, env)))
  for (const [index, [, message]] of cases.entries()) {
    t.same(results[index], { code: 1, stdout: '', stderr: `Example server not started: ${message}\n` }, message)
  }
})
