/**
 * A CommonJS consumer of the packed tarball (its CommonJS entry, which loads the ESM build
 * through require(esm), Node >= 20.19). tsc compiles `import x = require()` to
 * `const x = require()`. Type-checked as `module` nodenext, node20 and commonjs.
 * Prints one JSON line the test asserts.
 */
import Fastify = require('fastify')
import type { FastifyInstance } from 'fastify'
import oauth2PasswordPackage = require('fastify-oauth2-password')

// require() returns the plugin itself, with `.default` and the named exports on it: all the same function
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
  // The required value itself, as with every @fastify/* plugin
  await app.register(oauth2PasswordPackage, {
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
    sameFunction: oauth2PasswordPackage.default === oauth2PasswordPackage && oauth2Password === oauth2PasswordPackage,
    // Types of the namespace: an option object and an error class, by their names
    errorCode: new oauth2PasswordPackage.InvalidTokenError('x').code satisfies string,
    options: options.scopes !== undefined
  }))
}

// Types reach CommonJS code through the namespace, as with @fastify/* plugins
const options: oauth2PasswordPackage.OAuth2PasswordOptions = { secret: 'x', scopes: { me: 'Read your profile' }, users: { findByUsername: () => null, findById: () => null } }

// What TypeScript refuses: an undeclared option. Never called.
function wrongOption (app: FastifyInstance): void {
  // @ts-expect-error: `acessTokenTtl` is not an option
  app.register(oauth2PasswordPackage, { secret: 'x', acessTokenTtl: '1m', users: { findByUsername: () => null, findById: () => null } })
}
export { wrongOption }

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
