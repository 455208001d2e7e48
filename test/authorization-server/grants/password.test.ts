import { Buffer } from 'node:buffer'
import { Writable } from 'node:stream'
import Fastify, { type FastifyRequest, type LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { accessTokensWith } from '../../helpers/access-tokens.js'
import { passwordGrant } from '../../../lib/authorization-server/grants/password.js'
import { requestedScopes, requireParameter } from '../../../lib/authorization-server/grants/requested-scope.js'
import type { FormParameters } from '../../../lib/protocol/form-body.js'
import type { OAuth2PasswordOptions, UserAccount } from '../../../lib/index.js'
import { createPasswordHasher, type PasswordHasher } from '../../../lib/passwords/password-hasher.js'
import { hashPassword, verifyPassword } from '../../../lib/passwords/bcrypt.js'
import { createAccountPolicy } from '../../../lib/passwords/account-policy.js'
import { createLoginVerifier } from '../../../lib/passwords/verify-login.js'
import { createTokenResponder } from '../../../lib/tokens/token-response.js'
import { buildApp, PASSWORD, postForm, seedUsers, type TestApp, type TestUser, userView } from '../../helpers/build-app.js'

// RFC 6749 §4.3: the resource owner password credentials grant. What the endpoint
// suite cannot see from outside: how much bcrypt work each answer costs, the rehash
// hook, and the bounded bcrypt gate under a login flood.

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
const BAD_CREDENTIALS = { error: 'invalid_grant', error_description: 'Incorrect username or password' }
const SECRET = 'test-secret-that-is-at-least-32-bytes-long'

function form (parameters: Record<string, string>): FormParameters {
  return Object.assign(Object.create(null), parameters)
}

function captureLog (): { lines: string[], stream: Writable } {
  const lines: string[] = []
  return { lines, stream: new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } }) }
}

async function grantApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}, server = {}): Promise<TestApp> {
  const built = await buildApp(options, () => {}, server)
  t.teardown(() => built.app.close())
  return built
}

/** The real hasher, counting the bcrypt jobs it is asked for. */
function countingHasher (cost: number): { hasher: PasswordHasher, calls: { verify: Array<string | null>, hash: number } } {
  const real = createPasswordHasher({ cost })
  const calls = { verify: [] as Array<string | null>, hash: 0 }
  const hasher: PasswordHasher = {
    parameters: real.parameters,
    cost: real.cost,
    maxPasswordBytes: real.maxPasswordBytes,
    maxConcurrent: real.maxConcurrent,
    maxQueue: real.maxQueue,
    get running () { return real.running },
    get queued () { return real.queued },
    async verify (password, hash) {
      calls.verify.push(hash)
      return await real.verify(password, hash)
    },
    async hash (password) {
      calls.hash++
      return await real.hash(password)
    },
    needsRehash: (hash) => real.needsRehash(hash),
    assertCapacity: () => real.assertCapacity()
  }
  return { hasher, calls }
}

/** The grant as the plugin wires it, over a counting hasher and the seeded users. */
function grantUnderTest (cost: number, onRehash?: (account: UserAccount, hash: string) => void | Promise<void>) {
  const users = seedUsers()
  const { hasher, calls } = countingHasher(cost)
  const log = Fastify().log
  const store = { findByUsername: (username: string) => users.get(username) ?? null, findById: (id: string) => userView(users.get(id)) }
  const declaredScopes = new Set(['me', 'items'])
  const policy = createAccountPolicy(store, declaredScopes)
  const grant = passwordGrant({
    verifyLogin: createLoginVerifier({ users: store, passwords: hasher, policy, onRehash, log }),
    declaredScopes,
    issueTokens: createTokenResponder(accessTokensWith({ secret: SECRET, ttlSeconds: 60 }))
  })
  const request = {} as FastifyRequest
  const login = (parameters: Record<string, string>) => grant({ parameters: form(parameters), client: null, request })
  return { users, calls, login }
}

t.test('timing equality: exactly one bcrypt verification per login, whatever the outcome', async (t) => {
  const { users, calls, login } = grantUnderTest(4)
  const johnHash = users.get('johndoe')?.passwordHash
  const aliceHash = users.get('alice')?.passwordHash

  await t.rejects(login({ username: 'nobody', password: PASSWORD }), { code: 'FST_OAUTH2_INVALID_GRANT', message: 'Incorrect username or password' })
  t.same(calls.verify, [null], 'unknown user: one verification, against the dummy hash (a null stored hash)')

  calls.verify.length = 0
  await t.rejects(login({ username: 'johndoe', password: 'wrong' }), { code: 'FST_OAUTH2_INVALID_GRANT', message: 'Incorrect username or password' })
  t.same(calls.verify, [johnHash], 'wrong password: one verification')

  calls.verify.length = 0
  await t.rejects(login({ username: 'alice', password: PASSWORD }), { code: 'FST_OAUTH2_INVALID_GRANT', message: 'Incorrect username or password' })
  t.same(calls.verify, [aliceHash], 'disabled user, right password: one verification')

  calls.verify.length = 0
  await t.rejects(login({ username: 'alice', password: 'wrong' }), { code: 'FST_OAUTH2_INVALID_GRANT' })
  t.same(calls.verify, [aliceHash], 'disabled user, wrong password: one verification')

  calls.verify.length = 0
  t.match(await login({ username: 'johndoe', password: PASSWORD }), { token_type: 'bearer', scope: 'me items' })
  t.same(calls.verify, [johnHash], 'success: one verification')
  t.equal(calls.hash, 0, 'and no hashing without onRehash')
})

t.test('timing equality: invalid_scope after a right password still cost one verification', async (t) => {
  const { calls, login } = grantUnderTest(4)
  await t.rejects(login({ username: 'bob', password: PASSWORD, scope: 'items' }), { code: 'FST_OAUTH2_INVALID_SCOPE' })
  t.equal(calls.verify.length, 1)
  calls.verify.length = 0
  await t.rejects(login({ username: 'bob', password: 'wrong', scope: 'items' }), { code: 'FST_OAUTH2_INVALID_GRANT' }, 'a wrong password is reported before the scope')
  t.equal(calls.verify.length, 1)
})

t.test('malformed requests cost no bcrypt work at all', async (t) => {
  const { calls, login } = grantUnderTest(4)
  const refused: Array<Record<string, string>> = [
    { password: PASSWORD },
    { username: 'johndoe' },
    { username: 'john\ndoe', password: PASSWORD },
    { username: 'johndoe', password: 'a\0' },
    { username: 'johndoe', password: 'x'.repeat(73) },
    { username: 'johndoe', password: PASSWORD, scope: 'admin' },
    { username: 'johndoe', password: PASSWORD, scope: 'me  items' }
  ]
  for (const parameters of refused) await t.rejects(login(parameters), { code: /^FST_OAUTH2_INVALID_(REQUEST|SCOPE)$/, statusCode: 400 }, JSON.stringify(parameters))
  t.equal(calls.verify.length, 0)
  t.equal(calls.hash, 0)
})

t.test('onRehash: a hash below the configured cost is replaced once, with one that verifies', async (t) => {
  const rehashed: Array<[UserAccount, string]> = []
  const { app, users } = await grantApp(t, { bcrypt: { cost: 5 }, onRehash: (account, hash) => { rehashed.push([account, hash]) } })
  const response = await postForm(app, { username: 'johndoe', password: PASSWORD })
  t.equal(response.statusCode, 200)
  t.match(response.headers, NO_STORE)
  t.equal(rehashed.length, 1, 'called once')
  const [account, hash] = rehashed[0] as [UserAccount, string]
  t.equal(account, users.get('johndoe'), 'with the account findByUsername returned')
  t.match(hash, /^\$2b\$05\$[./A-Za-z0-9]{53}$/, 'a cost-5 bcrypt hash')
  t.equal(await verifyPassword(PASSWORD, hash), true, 'that verifies the password')
  t.equal(await verifyPassword('wrong', hash), false)
})

t.test('onRehash: the app stores the new hash, and the next login does not rehash again', async (t) => {
  let calls = 0
  const { app, users } = await grantApp(t, {
    bcrypt: { cost: 5 },
    onRehash: async (account, passwordHash) => {
      calls++
      const user = users.get(account.id) as TestUser
      users.set(account.id, { ...user, passwordHash })
    }
  })
  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD })).statusCode, 200)
  t.equal(calls, 1)
  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD })).statusCode, 200, 'the stored cost-5 hash works')
  t.equal(calls, 1, 'and needs no rehash')
})

t.test('onRehash: not called when the cost matches, or when the login fails', async (t) => {
  let calls = 0
  const matching = await grantApp(t, { bcrypt: { cost: 4 }, onRehash: () => { calls++ } })
  t.equal((await postForm(matching.app, { username: 'johndoe', password: PASSWORD })).statusCode, 200)
  t.equal(calls, 0, 'cost matches')

  const higher = await grantApp(t, { bcrypt: { cost: 5 }, onRehash: () => { calls++ } })
  t.equal((await postForm(higher.app, { username: 'johndoe', password: 'wrong' })).statusCode, 400)
  t.equal((await postForm(higher.app, { username: 'alice', password: PASSWORD })).statusCode, 400)
  t.equal((await postForm(higher.app, { username: 'bob', password: PASSWORD, scope: 'items' })).statusCode, 400)
  t.equal(calls, 0, 'wrong password, disabled user, refused scope')

  const lower = await grantApp(t, { bcrypt: { cost: 4 }, onRehash: () => { calls++ } })
  lower.users.set('strong', { id: 'strong', username: 'strong', fullName: 'Strong', passwordHash: await hashPassword(PASSWORD, { cost: 5 }), scopes: ['me'] })
  t.equal((await postForm(lower.app, { username: 'strong', password: PASSWORD })).statusCode, 200)
  t.equal(calls, 0, 'a stored cost above the configured one is kept')
})

t.test('onRehash: a failing hook does not fail the login, and is logged without the password', async (t) => {
  for (const [label, onRehash] of [
    ['throws', () => { throw new Error('read-only database') }],
    ['rejects', async () => { throw new Error('read-only database') }]
  ] as const) {
    const { lines, stream } = captureLog()
    const { app } = await grantApp(t, { bcrypt: { cost: 5 }, onRehash }, { logger: { level: 'trace', stream } })
    const password = 'Pw-only-in-this-test'
    const response = await postForm(app, { username: 'johndoe', password: PASSWORD })
    t.equal(response.statusCode, 200, `${label}: login succeeds`)
    t.match(response.json(), { token_type: 'bearer', scope: 'me items' })
    const warning = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'fastify-oauth2-password: onRehash failed')
    t.match(warning, { level: 40, err: { message: 'read-only database' } }, `${label}: warned`)
    t.notMatch(lines.join(''), `"${PASSWORD}"`, `${label}: the password is not logged`)
    t.notMatch(lines.join(''), password)
  }
})

/**
 * A user store that holds the first `count` lookups until all have arrived, then releases
 * them in one go: their bcrypt jobs reach the gate together, before any can finish.
 * Later lookups pass straight through.
 */
function barrierUsers (count: number) {
  const users = seedUsers()
  const waiting: Array<() => void> = []
  return {
    findByUsername: async (username: string) => {
      if (waiting.length < count) {
        await new Promise<void>((resolve) => {
          waiting.push(resolve)
          if (waiting.length === count) for (const release of waiting) release()
        })
      }
      return users.get(username) ?? null
    },
    findById: () => null
  }
}

function assertUnavailable (t: Test, response: LightMyRequestResponse): void {
  t.equal(response.statusCode, 503)
  t.match(response.headers, { ...NO_STORE, 'retry-after': '1' }, 'RFC 9110 Retry-After, no-store')
  t.same(response.json(), { error: 'temporarily_unavailable', error_description: 'Too many login attempts in progress, retry later' })
}

t.test('login flood: beyond maxConcurrent + maxQueue, logins get 503 temporarily_unavailable at once', async (t) => {
  const { app } = await grantApp(t, { bcrypt: { cost: 4, maxConcurrent: 1, maxQueue: 1 }, users: barrierUsers(5) })
  const responses = await Promise.all(Array.from({ length: 5 }, () => postForm(app, { username: 'johndoe', password: PASSWORD })))
  const ok = responses.filter((response) => response.statusCode === 200)
  const refused = responses.filter((response) => response.statusCode !== 200)
  t.equal(ok.length, 2, 'one running, one queued')
  t.equal(refused.length, 3, 'the surplus refused')
  for (const response of ok) t.match(response.json(), { token_type: 'bearer', scope: 'me items' })
  for (const response of refused) assertUnavailable(t, response)
  const after = await postForm(app, { username: 'johndoe', password: PASSWORD })
  t.equal(after.statusCode, 200, 'the gate frees up afterwards')
})

t.test('login flood: unknown users take a bcrypt slot like known ones', async (t) => {
  const { app } = await grantApp(t, { bcrypt: { cost: 4, maxConcurrent: 1, maxQueue: 1 }, users: barrierUsers(4) })
  const responses = await Promise.all([
    postForm(app, { username: 'nobody', password: PASSWORD }),
    postForm(app, { username: 'nobody-else', password: PASSWORD }),
    postForm(app, { username: 'johndoe', password: PASSWORD }),
    postForm(app, { username: 'nobody', password: 'x' })
  ])
  t.same(responses.map((response) => response.statusCode), [400, 400, 503, 503], 'the two unknown users held the slot and the queue')
  t.same(responses[0]?.json(), BAD_CREDENTIALS)
  for (const response of responses.slice(2)) assertUnavailable(t, response)
})

t.test('requireParameter (unit)', async (t) => {
  t.equal(requireParameter(form({ username: 'a' }), 'username'), 'a')
  t.throws(() => requireParameter(form({}), 'username'), { code: 'FST_OAUTH2_INVALID_REQUEST', error: 'invalid_request', message: 'The username parameter is missing' })
})

t.test('requestedScopes (unit)', async (t) => {
  const declared = new Set(['me', 'items'])
  t.same(requestedScopes(form({}), declared), [], 'absent')
  t.same(requestedScopes(form({ scope: 'items me items' }), declared), ['items', 'me'])
  t.throws(() => requestedScopes(form({ scope: 'me  items' }), declared), { code: 'FST_OAUTH2_INVALID_SCOPE', error: 'invalid_scope', message: 'The scope parameter is malformed' })
  t.throws(() => requestedScopes(form({ scope: 'me admin' }), declared), { code: 'FST_OAUTH2_INVALID_SCOPE', message: 'The requested scope is not declared by this server' })
  t.throws(() => requestedScopes(form({ scope: 'me' }), new Set()), { code: 'FST_OAUTH2_INVALID_SCOPE' }, 'nothing declared')
})

t.test('the token names the user by id, whatever the username', async (t) => {
  const { app, users } = await grantApp(t)
  const john = users.get('johndoe') as TestUser
  users.set('John.Doe@example.com', { ...john, id: 'user-42' })
  const response = await postForm(app, { username: 'John.Doe@example.com', password: PASSWORD })
  t.equal(response.statusCode, 200)
  const token = (response.json() as { access_token: string }).access_token
  t.equal(JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8')).sub, 'user-42')
  t.equal((await postForm(app, { username: 'john.doe@example.com', password: PASSWORD })).statusCode, 400, 'usernames are matched by the store, as given')
})
