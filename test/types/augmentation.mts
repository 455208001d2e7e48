/**
 * Type fixture: an app that names its user type and scopes by module augmentation.
 * Checked by `tsc -p test/types/tsconfig.json`, never run. Every `@ts-expect-error`
 * line is a mistake the types must catch; if one stops being an error, tsc fails.
 */
import Fastify from 'fastify'
import oauth2Password, {
  hashPassword,
  InvalidTokenError,
  verifyPassword,
  type AccessTokenClaims,
  type Authentication,
  type OAuth2PasswordOptions,
  type SecurityRequirement,
  type TokenResponse,
  type UserAccount
} from 'fastify-oauth2-password'

interface MyUser {
  id: string
  email: string
  disabled?: boolean
}

declare module 'fastify-oauth2-password' {
  interface OAuth2PasswordTypes {
    user: MyUser
    scopes: 'me' | 'items'
  }
}

/** Compile-time equality: true only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (): T | undefined {
  return undefined
}

const accounts = new Map<string, UserAccount & MyUser>()
const app = Fastify()

await app.register(oauth2Password, {
  secret: process.env.JWT_SECRET ?? 'a-development-secret-of-at-least-32-bytes',
  scopes: { me: 'Read your profile', items: 'Read items' },
  users: {
    findByUsername: (username) => accounts.get(username) ?? null,
    // The user without its hash: the account is for the login only
    findById: async (id) => {
      const account = accounts.get(id)
      return account === undefined ? null : { id: account.id, email: account.email }
    }
  }
})

// --- request.currentUser() is the app's user type, no casts -----------------

app.get('/users/me', { schema: { security: app.oauth2.requirement('me') } }, async function me (request) {
  const user = await request.currentUser()
  expectType<Equal<typeof user, MyUser>>()
  const email: string = user.email
  // @ts-expect-error: MyUser has no such field
  console.log(user.passwordHash)
  return { email }
})

app.get('/maybe', async function maybe (request) {
  const user = await request.currentUser({ optional: true })
  expectType<Equal<typeof user, MyUser | null>>()
  // @ts-expect-error: may be null for an anonymous request
  console.log(user.email)
  return { email: user?.email ?? null }
})

app.get('/auth', async function auth (request) {
  expectType<Equal<typeof request.auth, Authentication | null>>()
  // @ts-expect-error: null on a request nothing authenticated
  console.log(request.auth.scheme)
  const scopes = request.auth?.scopes
  expectType<Equal<typeof scopes, ReadonlySet<string> | undefined>>()
  // @ts-expect-error: the granted scopes are read-only
  request.auth?.scopes.add('admin')
  const claims = request.auth?.claims
  expectType<Equal<typeof claims, Readonly<Record<string, unknown>> | null | undefined>>()
  return { scheme: request.auth?.scheme ?? null, scopes: [...scopes ?? []], subject: claims?.sub ?? null }
})

// --- app.oauth2 is typed with the declared scopes ------------------------------

const requirement: SecurityRequirement[] = app.oauth2.requirement('me', 'items')
// @ts-expect-error: 'nope' is not a declared scope
app.oauth2.requirement('nope')

const issued: TokenResponse = await app.oauth2.issueTokens({ id: 'johndoe' }, ['me'])
expectType<Equal<typeof issued.token_type, 'bearer'>>()
// @ts-expect-error: 'admin' is not a declared scope
await app.oauth2.issueTokens({ id: 'johndoe' }, ['admin'])
// @ts-expect-error: a user needs an id
await app.oauth2.issueTokens({ scopes: ['me'] })

const claims = app.oauth2.verifyAccessToken(issued.access_token)
expectType<Equal<typeof claims, Readonly<AccessTokenClaims>>>()
const sub: string = claims.sub
// @ts-expect-error: verified claims are read-only
claims.sub = 'someone else'

const ok: boolean = await app.oauth2.verifyPassword('secret', await app.oauth2.hashPassword('secret'))
const alsoOk: boolean = await verifyPassword('secret', await hashPassword('secret', { cost: 10 }))
// @ts-expect-error: the hash is a string (or null for the dummy)
await app.oauth2.verifyPassword('secret', 42)

app.register(async function users (child) {
  child.requireSecurity({ OAuth2PasswordBearer: ['me'] })
  child.requireSecurity([{ OAuth2PasswordBearer: ['me'] }, {}])
  // @ts-expect-error: a requirement is { scheme: scopes }, not a scope name
  child.requireSecurity('me')
})

const refusal = new InvalidTokenError('The access token expired')
const code: string = refusal.code

// --- options: the user store must produce MyUser; typos are errors ------------

const users: OAuth2PasswordOptions['users'] = {
  findByUsername: () => null,
  // @ts-expect-error: findById must resolve the app's user type (email missing)
  findById: (id: string) => ({ id })
}

const leakyUsers: OAuth2PasswordOptions['users'] = {
  findByUsername: (username: string) => accounts.get(username) ?? null,
  // @ts-expect-error: findById must not return the account with its passwordHash (it would reach responses)
  findById: (id: string) => accounts.get(id) ?? null
}

const badAccounts: OAuth2PasswordOptions['users'] = {
  // @ts-expect-error: findByUsername must resolve an account with a passwordHash
  findByUsername: (username: string) => ({ id: username }),
  findById: () => null
}

await app.register(oauth2Password, {
  users,
  // @ts-expect-error: typo of "secret"
  secert: 'a-development-secret-of-at-least-32-bytes'
})

await app.register(oauth2Password, {
  users,
  secret: 'a-development-secret-of-at-least-32-bytes',
  // @ts-expect-error: typo of "accessTokenTtl"
  accessTokenTTL: '30m'
})

await app.register(oauth2Password, {
  users,
  secret: 'a-development-secret-of-at-least-32-bytes',
  bearerToken: {
    // @ts-expect-error: typo of "query"
    qeury: 'access_token'
  }
})

await app.register(oauth2Password, {
  users,
  secret: 'a-development-secret-of-at-least-32-bytes',
  // @ts-expect-error: the bcrypt cost is a number
  bcrypt: { cost: '12' }
})

await app.register(oauth2Password, {
  users,
  secret: 'a-development-secret-of-at-least-32-bytes',
  passwordHashing: { algorithm: 'argon2id', memoryCost: 65_536, timeCost: 3, parallelism: 1, maxConcurrent: 2 }
})

await app.register(oauth2Password, {
  users,
  secret: 'a-development-secret-of-at-least-32-bytes',
  // @ts-expect-error: scrypt is not an algorithm of passwordHashing
  passwordHashing: { algorithm: 'scrypt' }
})

await app.register(oauth2Password, {
  users,
  secret: 'a-development-secret-of-at-least-32-bytes',
  // @ts-expect-error: memoryCost belongs to Argon2id, not bcrypt
  passwordHashing: { algorithm: 'bcrypt', memoryCost: 65_536 }
})

// @ts-expect-error: users is required
await app.register(oauth2Password, { secret: 'a-development-secret-of-at-least-32-bytes' })

export { badAccounts, leakyUsers, requirement, sub, ok, alsoOk, code }
