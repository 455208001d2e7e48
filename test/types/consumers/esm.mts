/**
 * An ESM consumer of the packed tarball (copied into a temp project by
 * test/package-consumers.test.ts, type-checked with tsc, then run). Prints one
 * JSON line the test asserts.
 */
import Fastify from 'fastify'
import oauth2Password, { hashPassword, InvalidTokenError, type UserAccount } from 'fastify-oauth2-password'

// The user as routes see it, and the account (the user plus its hash) that only the login reads
interface User {
  id: string
  username: string
  email: string
}
interface Account extends UserAccount, User {}

declare module 'fastify-oauth2-password' {
  interface OAuth2PasswordTypes {
    user: User
    scopes: 'me' | 'items'
  }
}

const passwordHash = await hashPassword('secret', { cost: 4 })
const accounts = new Map<string, Account>([
  ['johndoe', { id: 'johndoe', username: 'johndoe', email: 'john@example.com', passwordHash, scopes: ['me', 'items'] }]
])

const app = Fastify()
await app.register(oauth2Password, {
  secret: 'an-esm-consumer-secret-of-at-least-32-bytes',
  scopes: { me: 'Read your profile', items: 'Read items' },
  bcrypt: { cost: 4 },
  users: {
    findByUsername: (username) => accounts.get(username) ?? null,
    findById: (id) => {
      const account = accounts.get(id)
      return account === undefined ? null : { id: account.id, username: account.username, email: account.email }
    }
  }
})

// schema.security is typed without importing @fastify/swagger
app.get('/users/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async function me (request) {
  const user = await request.currentUser()
  const email: string = user.email
  // @ts-expect-error: the app's user type, not any: it has no fullName
  const fullName: unknown = user.fullName
  return { id: user.id, email, fullName: fullName ?? null, scopes: [...request.auth?.scopes ?? []] }
})

// @ts-expect-error: 'admin' is not a declared scope
app.oauth2.requirement('admin')

const refused = await app.inject({ url: '/users/me' })
const login = await app.inject({
  method: 'POST',
  url: '/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: 'username=johndoe&password=secret&scope=me'
})
const { access_token: token } = login.json<{ access_token: string }>()
const me = await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${token}` } })
await app.close()

console.log(JSON.stringify({
  refused: [refused.statusCode, refused.headers['www-authenticate']],
  login: login.statusCode,
  me: [me.statusCode, me.json()],
  errorClass: new InvalidTokenError('x').code
}))
