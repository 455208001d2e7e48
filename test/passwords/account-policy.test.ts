import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import oauth2Password, { httpBasic, type AccountAuthorization, type OAuth2PasswordOptions } from '../../lib/index.js'
import { createAccountPolicy } from '../../lib/passwords/account-policy.js'
import { hashPassword } from '../../lib/passwords/bcrypt.js'
import { PASSWORD, postForm, SCOPES, SECRET } from '../helpers/build-app.js'

// DESIGN §3a, issue 8 §1: what an account may be granted is decided now, at every
// issuance and use, from one source. Each test changes the account between issuing
// a token and a later use of it.

interface Account extends AccountAuthorization {
  id: string
  passwordHash: string
}

const passwordHash = await hashPassword(PASSWORD, { cost: 4 })

/**
 * An app whose `findById` returns a profile with neither scopes nor `disabled` (the
 * common shape, and the example's): only the account speaks for authorization.
 */
async function accountApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}) {
  const accounts = new Map<string, Account>([['johndoe', { id: 'johndoe', passwordHash, scopes: ['me', 'items'] }]])
  const app: FastifyInstance = Fastify()
  t.teardown(() => app.close())
  await app.register(oauth2Password, {
    secret: SECRET,
    scopes: SCOPES,
    bcrypt: { cost: 4 },
    refreshTokens: true,
    securitySchemes: { Basic: httpBasic() },
    users: {
      findByUsername: (username) => accounts.get(username) ?? null,
      findById: (id) => accounts.has(id) ? { id, fullName: 'John Doe' } : null,
      findAccountById: async (id) => accounts.get(id) ?? null
    },
    ...options
  })
  app.get('/items', { schema: { security: [{ OAuth2PasswordBearer: ['items'] }] } }, async () => ['Foo'])
  app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => await request.currentUser())
  app.get('/basic/items', { schema: { security: [{ Basic: ['items'] }] } }, async () => ['Foo'])
  await app.ready()
  const account = accounts.get('johndoe') as Account
  return { app, accounts, account }
}

interface Tokens { access_token: string, refresh_token: string, scope: string }

async function login (app: FastifyInstance, scope = 'me items'): Promise<Tokens> {
  const response = await postForm(app, { username: 'johndoe', password: PASSWORD, scope })
  if (response.statusCode !== 200) throw new Error(response.body)
  return response.json() as Tokens
}

function refresh (app: FastifyInstance, tokens: Tokens, form: Record<string, string> = {}) {
  return postForm(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, ...form })
}

function bearer (app: FastifyInstance, url: string, token: string) {
  return app.inject({ url, headers: { authorization: `Bearer ${token}` } })
}

const INVALID_REFRESH = { error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or revoked' }

t.test('RFC 6749 §6: a refresh narrows to the scopes the account holds now', async (t) => {
  const { app, account } = await accountApp(t)
  const tokens = await login(app)
  t.equal(tokens.scope, 'me items')
  account.scopes = ['me']
  const response = await refresh(app, tokens)
  t.equal(response.statusCode, 200)
  const next = response.json() as Tokens
  t.equal(next.scope, 'me', 'items was taken off the account')
  t.equal((await bearer(app, '/items', next.access_token)).statusCode, 403, 'the new token does not open items')
  const wider = await refresh(app, next, { scope: 'items' })
  t.equal(wider.statusCode, 400)
  t.same(wider.json(), { error: 'invalid_scope', error_description: 'None of the requested scopes may be granted to this user' }, 'within the original grant, but not the account\'s now')
})

t.test('a refresh by a disabled account is invalid_grant, and its family ends', async (t) => {
  const { app, account } = await accountApp(t)
  const tokens = await login(app)
  account.disabled = true
  const response = await refresh(app, tokens)
  t.equal(response.statusCode, 400)
  t.same(response.json(), INVALID_REFRESH)
  account.disabled = false
  t.same((await refresh(app, tokens)).json(), INVALID_REFRESH, 'enabling the account again does not revive the family')
})

t.test('a refresh by a deleted account is invalid_grant', async (t) => {
  const { app, accounts } = await accountApp(t)
  const tokens = await login(app)
  accounts.delete('johndoe')
  const response = await refresh(app, tokens)
  t.equal(response.statusCode, 400)
  t.same(response.json(), INVALID_REFRESH)
})

t.test('every authenticated request: a disabled account\'s access token stops working', async (t) => {
  const { app, account } = await accountApp(t)
  const tokens = await login(app)
  t.equal((await bearer(app, '/me', tokens.access_token)).statusCode, 200)
  account.disabled = true
  const response = await bearer(app, '/me', tokens.access_token)
  t.equal(response.statusCode, 401)
  t.equal(response.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token", error_description="The user of this token is unknown or disabled"')
})

t.test('app.oauth2.issueTokens asks the account policy', async (t) => {
  const { app, account } = await accountApp(t)
  account.scopes = ['me']
  t.equal((await app.oauth2.issueTokens({ id: 'johndoe' }, ['me', 'items'])).scope, 'me', 'narrowed to the account')
  t.equal((await app.oauth2.issueTokens({ id: 'johndoe' })).scope, 'me', 'no scopes asked: all the account holds')
  t.equal((await app.oauth2.issueTokens({ id: 'johndoe', scopes: ['me', 'items'] })).scope, 'me', 'user.scopes are narrowed too')
  await t.rejects(app.oauth2.issueTokens({ id: 'johndoe' }, ['items']), { code: 'FST_OAUTH2_INVALID_SCOPE', message: 'None of the requested scopes may be granted to this user' })
  await t.rejects(app.oauth2.issueTokens({ id: 'johndoe' }, ['admin']), { code: 'FST_OAUTH2_INVALID_SCOPE', message: 'The requested scope is not declared by this server' })
  account.disabled = true
  await t.rejects(app.oauth2.issueTokens({ id: 'johndoe' }, ['me']), { code: 'FST_OAUTH2_INVALID_GRANT', error: 'invalid_grant', message: 'The account is unknown or disabled' })
  await t.rejects(app.oauth2.issueTokens({ id: 'nobody' }), { code: 'FST_OAUTH2_INVALID_GRANT' })
})

t.test('an account that lists no scopes: a login gets none, and asking for one is invalid_scope', async (t) => {
  const { app, account } = await accountApp(t)
  delete account.scopes
  const login = await postForm(app, { username: 'johndoe', password: PASSWORD })
  t.equal(login.statusCode, 200)
  t.equal((login.json() as Tokens).scope, '', 'no scopes asked, none held: none granted')
  t.same((await postForm(app, { username: 'johndoe', password: PASSWORD, scope: 'me' })).json(), { error: 'invalid_scope', error_description: 'None of the requested scopes may be granted to this user' })
  t.equal((await app.oauth2.issueTokens({ id: 'johndoe' })).scope, '', 'issueTokens: the same')
})

t.test('issueTokens for a user whose store does not say its scopes: none unless asked for', async (t) => {
  const { app } = await accountApp(t, {
    users: { findByUsername: () => null, findById: (id) => ({ id }) }
  })
  t.equal((await app.oauth2.issueTokens({ id: 'johndoe' })).scope, '', 'nothing asked, nothing known: no scopes')
  t.equal((await app.oauth2.issueTokens({ id: 'johndoe' }, ['me', 'items'])).scope, 'me items', 'what is asked is narrowed by the declared scopes only')
})

t.test('HTTP Basic logs in through the same check: the account\'s scopes and disabled, now', async (t) => {
  const { app, account } = await accountApp(t)
  const authorization = `Basic ${Buffer.from(`johndoe:${PASSWORD}`).toString('base64')}`
  t.equal((await app.inject({ url: '/basic/items', headers: { authorization } })).statusCode, 200)
  account.scopes = ['me']
  t.equal((await app.inject({ url: '/basic/items', headers: { authorization } })).statusCode, 403)
  account.disabled = true
  t.equal((await app.inject({ url: '/basic/items', headers: { authorization } })).statusCode, 401)
})

t.test('without findAccountById, findById\'s user speaks for the account where it can', async (t) => {
  const users = new Map<string, { id: string, passwordHash: string, scopes?: unknown, disabled?: boolean }>([
    ['johndoe', { id: 'johndoe', passwordHash, scopes: ['me', 'items'] }]
  ])
  const { app } = await accountApp(t, {
    users: { findByUsername: (username) => users.get(username) as Account | undefined ?? null, findById: (id) => { const { passwordHash: _hash, ...user } = users.get(id) ?? {}; return users.has(id) ? user as { id: string } : null } }
  })
  const user = users.get('johndoe') as { scopes?: unknown, disabled?: boolean }
  const first = await login(app)
  user.scopes = ['me', 7, 'admin']
  const narrowed = (await refresh(app, first)).json() as Tokens
  t.equal(narrowed.scope, 'me', 'an array of scopes narrows; unknown entries never widen')
  user.scopes = undefined
  const kept = (await refresh(app, narrowed)).json() as Tokens
  t.equal(kept.scope, 'me items', 'no scopes on the user: the family\'s original scope is the ceiling')
  user.disabled = true
  t.same((await refresh(app, kept)).json(), INVALID_REFRESH)
})

t.test('isActive answers synchronously when findAccountById does', async (t) => {
  const accounts = new Map<string, AccountAuthorization>([['a', { scopes: ['me'] }], ['b', { disabled: true }]])
  const policy = createAccountPolicy({ findByUsername: () => null, findById: () => null, findAccountById: (id) => accounts.get(id) ?? null }, new Set(['me']))
  t.equal(policy.isActive('a', {}), true)
  t.equal(policy.isActive('b', {}), false)
  t.equal(policy.isActive('c', {}), false)
  t.equal(policy.isActive('a', { disabled: true }), false, 'a user marked disabled is refused whatever the account says')
  t.same(policy.atLogin({}), { scopes: new Set() }, 'an account without scopes holds none')
  t.equal(policy.atLogin(null), null)
  t.same(await policy.current('a'), { scopes: new Set(['me']) })
})

t.test('users.findAccountById must be a function when given', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => await app.register(oauth2Password, {
    secret: SECRET,
    users: { findByUsername: () => null, findById: () => null, findAccountById: 'yes' as never }
  }).ready(), { code: 'FST_OAUTH2_INVALID_OPTION', message: /^Invalid option users\.findAccountById: / })
})
