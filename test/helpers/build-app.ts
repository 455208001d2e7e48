import { subscribe } from 'node:diagnostics_channel'
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Test } from 'tap'
import { hashPassword } from '../../lib/passwords/bcrypt.js'
import oauth2Password, { SECURITY_EVENT_CHANNEL, type OAuth2PasswordOptions, type UserAccount } from '../../lib/index.js'
import { suiteLogs } from './log-secrets.js'

/** A user of the test store: an account for login plus profile fields. */
export interface TestUser extends UserAccount {
  username: string
  fullName: string
}

/** 32+ byte HS256 secret used by the tests. */
export const SECRET = 'test-secret-that-is-at-least-32-bytes-long'
/** Password of every seeded user. */
export const PASSWORD = 'secret'
/** Declared scopes of the test app. */
export const SCOPES = { me: 'Read information about the current user.', items: 'Read items.' }

// One cheap hash for the whole run: bcrypt cost 4 keeps tests fast
const passwordHash = await hashPassword(PASSWORD, { cost: 4 })
for (const secret of [SECRET, PASSWORD, passwordHash]) suiteLogs.remember(secret, 1)

/** A test user as routes see it: {@link TestUser} without the account's password hash. */
export type TestUserView = Omit<TestUser, 'passwordHash'>

/** What `findById` returns for a seeded user: the user without its hash, or `null`. */
export function userView (user: TestUser | undefined): TestUserView | null {
  if (user === undefined) return null
  const { passwordHash, ...view } = user
  return view
}

/** Fresh users per app, so tests that disable or delete one never leak into another. */
export function seedUsers (): Map<string, TestUser> {
  return new Map([
    ['johndoe', { id: 'johndoe', username: 'johndoe', fullName: 'John Doe', passwordHash, scopes: ['me', 'items'] }],
    ['alice', { id: 'alice', username: 'alice', fullName: 'Alice Wonderson', passwordHash, scopes: ['me', 'items'], disabled: true }],
    ['bob', { id: 'bob', username: 'bob', fullName: 'Bob Builder', passwordHash, scopes: ['me'] }]
  ])
}

/** Registers the plugin over `users` with the test defaults (secret, scopes, bcrypt cost 4), `options` on top. */
export async function registerPlugin (app: FastifyInstance, users: Map<string, TestUser>, options: Partial<OAuth2PasswordOptions> = {}): Promise<void> {
  suiteLogs.remember(options.secret)
  for (const client of Object.values(options.clients ?? {})) suiteLogs.remember(client.secret)
  await app.register(oauth2Password, {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    users: {
      findByUsername: (username) => users.get(username) ?? null,
      findById: (id) => userView(users.get(id))
    },
    ...options
  })
}

/** A Fastify app whose log lines and wire secrets the suite's log check sees ({@link suiteLogs}). */
export function testFastify (server: FastifyServerOptions = {}): FastifyInstance {
  const app = Fastify({ ...server, logger: suiteLogs.logger(server.logger) })
  suiteLogs.watch(app)
  return app
}

export interface TestApp {
  app: FastifyInstance
  users: Map<string, TestUser>
}

/**
 * Builds a Fastify app with the plugin registered over an in-memory user store.
 * `options` override the defaults; `setup` adds routes before `ready()`.
 */
export async function buildApp (
  options: Partial<OAuth2PasswordOptions> = {},
  setup: (app: FastifyInstance) => void | Promise<void> = () => {},
  server: FastifyServerOptions = {}
): Promise<TestApp> {
  const users = seedUsers()
  const app = testFastify(server)
  await registerPlugin(app, users, options)
  await setup(app)
  await app.ready()
  return { app, users }
}

/** Posts a form to the token endpoint. */
export async function postForm (app: FastifyInstance, form: Record<string, string> | string, headers: Record<string, string> = {}, url = '/token') {
  const payload = typeof form === 'string' ? form : new URLSearchParams(form).toString()
  return await app.inject({ method: 'POST', url, payload, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } })
}

/** Logs in through the token endpoint and returns the access token. */
export async function login (app: FastifyInstance, username = 'johndoe', scope?: string): Promise<string> {
  const response = await postForm(app, { username, password: PASSWORD, ...(scope === undefined ? {} : { scope }) })
  if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
  return (response.json() as { access_token: string }).access_token
}

/** A token response (RFC 6749 §5.1); `refresh_token` only when refresh tokens are on. */
export interface Tokens {
  access_token: string
  refresh_token: string
  scope: string
}

/** Logs in through the token endpoint and returns the whole token response. */
export async function loginTokens (app: FastifyInstance, username = 'johndoe'): Promise<Tokens> {
  const response = await postForm(app, { username, password: PASSWORD })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.json() as Tokens
}

/** The refresh_token grant at the token endpoint. */
export async function refreshGrant (app: FastifyInstance, token: string) {
  return await postForm(app, { grant_type: 'refresh_token', refresh_token: token })
}

/**
 * An app with `GET /me` (any valid token; answers the user's id), `options` on top of the
 * test defaults, its log lines at `level` parsed into `logs`; closed at teardown.
 */
export async function meApp (t: Test, options: Partial<OAuth2PasswordOptions>, level: string) {
  const logs: Array<Record<string, unknown>> = []
  const stream = { write (line: string) { logs.push(JSON.parse(line)) } }
  const built = await buildApp(options, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async (request) => ({ id: (await request.currentUser() as unknown as TestUser).id }))
  }, { logger: { level, stream } })
  t.teardown(() => built.app.close())
  return { ...built, logs }
}

/** `GET /me` with a bearer token. */
export async function getMe (app: FastifyInstance, accessToken: string) {
  return await app.inject({ url: '/me', headers: { authorization: `Bearer ${accessToken}` } })
}

/** Date.now() under the test's control (restored at teardown). */
export function fakeClock (t: Test): { advance: (ms: number) => void } {
  let now = Date.now()
  t.intercept(Date, 'now', { value: () => now })
  return { advance (ms) { now += ms } }
}

// ---------------------------------------------------------------------------
// Security events: every event of every test that imports this helper is checked
// here, so no test can make the plugin emit a secret (issue: account protection).
// ---------------------------------------------------------------------------

const EVENT_FIELDS = ['event', 'time', 'userId', 'clientAddress', 'clientId', 'requestId', 'reason', 'mechanism'].sort().join()
// A password, a bcrypt/argon2 hash, a JWT, a refresh token of this plugin: none may appear in an event
const SECRET_SHAPES = [PASSWORD, '$2a$', '$2b$', '$argon2', 'eyJ', SECRET]

/** Throws when `event` has another shape than SecurityEvent's, or carries something secret. */
export function assertSafeSecurityEvent (event: unknown): void {
  const record = event as Record<string, unknown>
  if (Object.keys(record).sort().join() !== EVENT_FIELDS) throw new Error(`security event with unexpected fields: ${Object.keys(record).join()}`)
  for (const [name, value] of Object.entries(record)) {
    if (value !== null && typeof value !== 'string') throw new Error(`security event field ${name} is not a string`)
    if (typeof value === 'string' && SECRET_SHAPES.some((shape) => value.includes(shape))) throw new Error(`security event field ${name} carries a secret`)
  }
}

subscribe(SECURITY_EVENT_CHANNEL, assertSafeSecurityEvent)
