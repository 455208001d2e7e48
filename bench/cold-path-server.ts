import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import fastifyJwt from '@fastify/jwt'
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import type { CurrentUser } from '../lib/index.js'

// The server of `bench/cold-path.ts` (issue 10): GET /me guarded one of three ways, as in the
// project-independent ../shared/bench/overhead/server.mjs: the plugin, hand-written
// @fastify/jwt as its README shows, or no authentication (the ceiling). Same route, same
// synchronous user lookup, same response schema, logger off. The plugin variant also grows the
// app on demand: more protected routes, more declared and required scopes, revoked jtis.
//
// Environment (set by the driver): BENCH_MODE plugin | jwt | none; BENCH_TOKENS distinct users
// and tokens, written one a line to BENCH_TOKEN_FILE; for the plugin BENCH_ROUTES (protected
// routes besides /me), BENCH_SCOPES (declared scopes, all granted), BENCH_REQUIRED (scopes /me
// requires), BENCH_REVOKED (jtis revoked in the store before start; revocation checks on when set),
// BENCH_OPEN=1 (the plugin registered, /me open with `security: []`: no authentication, same app),
// BENCH_CACHE (the plugin's accessTokenCacheSize), BENCH_V8_STATE=1 (started with
// --allow-natives-syntax: SIGUSR2 prints V8's state of process.nextTick, SIGHUP runs six full
// garbage collections; see "The two speeds of one server" in docs/benchmarks.md).

const SECRET = 'cold-path-benchmark-secret-of-32-bytes-or-more'
const MODE = process.env.BENCH_MODE ?? 'plugin'
const count = (name: string, fallback: number): number => Number(process.env[name] ?? fallback)
const TOKENS = count('BENCH_TOKENS', 1)
const ROUTES = count('BENCH_ROUTES', 0)
const SCOPES = count('BENCH_SCOPES', 2)
const REQUIRED = count('BENCH_REQUIRED', 1)
const REVOKED = process.env.BENCH_REVOKED === undefined ? undefined : count('BENCH_REVOKED', 0)
const OPEN = process.env.BENCH_OPEN === '1'
const CACHE = process.env.BENCH_CACHE === undefined ? undefined : count('BENCH_CACHE', 0)

interface User { id: string, username: string, email: string, disabled: boolean }

const users = new Map<string, User>()
for (let i = 0; i < TOKENS; i++) users.set(`u${i}`, { id: `u${i}`, username: `u${i}`, email: `u${i}@example.test`, disabled: false })
const userSchema = { type: 'object', properties: { id: { type: 'string' }, username: { type: 'string' }, email: { type: 'string' } } }
const scopeNames = Array.from({ length: SCOPES }, (_, i) => i === 0 ? 'me' : `scope${i}`)

async function pluginApp (): Promise<{ app: ReturnType<typeof Fastify>, tokens: string[] }> {
  // Imported here, in plugin mode only: loading the plugin keeps Node's tick objects on V8's fast
  // path, which the baselines must not get (docs/benchmarks.md, "The two speeds of one server")
  const { default: oauth2Password, memoryTokenStore } = await import('../lib/index.js')
  const app = Fastify({ logger: false })
  const store = memoryTokenStore({ maxEntries: Math.max(REVOKED ?? 0, 1) + 10_000 })
  const hour = Date.now() + 3_600_000
  // Revoked jtis of other tokens: what a long-running app accumulates; none of them is sent
  for (let i = 0; i < (REVOKED ?? 0); i++) await store.revokeAccessToken(randomBytes(16).toString('base64url'), Date.now(), hour)
  await app.register(oauth2Password, {
    secret: SECRET,
    scopes: Object.fromEntries(scopeNames.map((name) => [name, name])),
    accessTokenTtl: 3600,
    store,
    revocation: { checkAccessTokens: REVOKED !== undefined },
    ...(CACHE === undefined ? {} : { accessTokenCacheSize: CACHE }),
    // Cast: the app's user is this benchmark's, whatever user type the type-check program has seen declared
    users: { findByUsername: () => null, findById: (id) => (users.get(id) ?? null) as unknown as CurrentUser | null }
  })
  const security = [{ OAuth2PasswordBearer: scopeNames.slice(0, REQUIRED) }]
  for (let i = 0; i < ROUTES; i++) app.get(`/route${i}`, { schema: { security } }, async function other () { return { i } })
  if (OPEN) {
    app.get('/me', { schema: { security: [], response: { 200: userSchema } } }, async function me () {
      return users.get('u0')
    })
  } else {
    app.get('/me', { schema: { security, response: { 200: userSchema } } }, async function me (request) {
      return await request.currentUser()
    })
  }
  await app.ready()
  // Cast: the scope names are this benchmark's, whatever scopes the type-check program has seen declared
  const granted = scopeNames as unknown as NonNullable<Parameters<typeof app.oauth2.issueTokens>[1]>
  const tokens: string[] = []
  for (let i = 0; i < TOKENS; i++) tokens.push((await app.oauth2.issueTokens({ id: `u${i}`, scopes: [...granted] }, granted)).access_token)
  return { app, tokens }
}

async function jwtApp (): Promise<{ app: ReturnType<typeof Fastify>, tokens: string[] }> {
  const app = Fastify({ logger: false })
  await app.register(fastifyJwt, { secret: SECRET, sign: { expiresIn: '1h' }, verify: { algorithms: ['HS256'] } })
  async function guard (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    let claims: { sub?: string, scope?: unknown }
    try {
      claims = await request.jwtVerify()
    } catch {
      return await reply.code(401).header('www-authenticate', 'Bearer error="invalid_token"').send({ error: 'invalid_token' })
    }
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes('me')) return await reply.code(403).send({ error: 'insufficient_scope' })
    const user = users.get(claims.sub ?? '')
    if (user === undefined || user.disabled) return await reply.code(401).send({ error: 'invalid_token' })
    request.benchUser = user
  }
  app.decorateRequest('benchUser', null)
  app.get('/me', { onRequest: guard, schema: { response: { 200: userSchema } } }, async function me (request) {
    return request.benchUser
  })
  await app.ready()
  return { app, tokens: Array.from({ length: TOKENS }, (_, i) => app.jwt.sign({ sub: `u${i}`, scope: 'me items' })) }
}

async function noAuthApp (): Promise<{ app: ReturnType<typeof Fastify>, tokens: string[] }> {
  const app = Fastify({ logger: false })
  app.get('/me', { schema: { response: { 200: userSchema } } }, async function me () {
    return users.get('u0')
  })
  // Tokens as long as real ones, so the request bytes are the same: only the checking differs
  return { app, tokens: Array.from({ length: TOKENS }, () => randomBytes(180).toString('base64url')) }
}

declare module 'fastify' {
  interface FastifyRequest {
    benchUser: User | null
  }
}

const { app, tokens } = MODE === 'plugin' ? await pluginApp() : MODE === 'jwt' ? await jwtApp() : await noAuthApp()
writeFileSync(process.env.BENCH_TOKEN_FILE as string, `${tokens.join('\n')}\n`)
const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ msg: `Cold-path benchmark server (${MODE}) on ${url}` })}\n`)
if (process.env.BENCH_V8_STATE === '1') {
  // Natives syntax only parses under --allow-natives-syntax, so it is compiled here rather than written inline
  // eslint-disable-next-line no-new-func -- V8's own diagnostics, for the benchmark only
  const printNextTick = new Function('%DebugPrint(process.nextTick)') as () => void
  // eslint-disable-next-line no-new-func -- as above
  const collectGarbage = new Function('%CollectGarbage(true)') as () => void
  process.on('SIGUSR2', printNextTick)
  process.on('SIGHUP', function collectSixTimes () {
    for (let time = 0; time < 6; time++) setTimeout(collectGarbage, time * 50)
  })
}
process.once('SIGTERM', function shutDown () {
  app.close().then(() => process.exit(0), () => process.exit(1))
})
