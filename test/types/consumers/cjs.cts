/**
 * A CommonJS consumer of the packed tarball: `require()` of the ESM package
 * (Node >= 20.19). tsc compiles `import x = require()` to `const x = require()`.
 * Prints one JSON line the test asserts.
 */
import Fastify = require('fastify')
import type { FastifyInstance } from 'fastify'
import oauth2PasswordPackage = require('fastify-oauth2-password')

// The package is ESM: require() returns its namespace. The plugin is `.default`,
// or the named export `oauth2Password`; both are the same function.
const { oauth2Password, hashPassword } = oauth2PasswordPackage

// The user as routes see it, and the account (the user plus its hash) that only the login reads
interface User {
  id: string
  email: string
}
interface Account extends User {
  passwordHash: string
  scopes: string[]
}

declare module 'fastify-oauth2-password' {
  interface OAuth2PasswordTypes {
    user: User
  }
}

async function main (): Promise<void> {
  const passwordHash = await hashPassword('secret', { cost: 4 })
  const accounts = new Map<string, Account>([['johndoe', { id: 'johndoe', passwordHash, scopes: ['me'], email: 'john@example.com' }]])

  const app = Fastify()
  await app.register(oauth2Password, {
    secret: 'a-cjs-consumer-secret-of-at-least-32-bytes',
    scopes: { me: 'Read your profile' },
    bcrypt: { cost: 4 },
    users: {
      findByUsername: (username) => accounts.get(username) ?? null,
      findById: (id) => {
        const account = accounts.get(id)
        return account === undefined ? null : { id: account.id, email: account.email }
      }
    }
  })
  app.get('/users/me', { schema: { security: app.oauth2.requirement('me') } }, async function me (request) {
    const user = await request.currentUser()
    // @ts-expect-error: the app's user type, not any: it has no fullName
    const fullName: unknown = user.fullName
    return { id: user.id, email: user.email, fullName: fullName ?? null }
  })

  const refused = await app.inject({ url: '/users/me' })
  const login = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=johndoe&password=secret'
  })
  const { access_token: token } = login.json<{ access_token: string }>()
  const me = await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${token}` } })
  await app.close()

  console.log(JSON.stringify({
    refused: [refused.statusCode, refused.headers['www-authenticate']],
    login: login.statusCode,
    me: [me.statusCode, me.json()],
    sameFunction: oauth2PasswordPackage.default === oauth2Password
  }))
}

// What TypeScript refuses: the namespace itself is not a plugin type (plain JavaScript may
// pass it, since Fastify unwraps `default`; see plain.cjs). Never called.
function namespaceIsNotAPlugin (app: FastifyInstance): void {
  // @ts-expect-error: register the plugin (`.default` or `oauth2Password`), not the namespace
  app.register(oauth2PasswordPackage, { secret: 'x', users: { findByUsername: () => null, findById: () => null } })
}
export { namespaceIsNotAPlugin }

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
