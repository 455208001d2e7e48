'use strict'
// What a plain JavaScript CommonJS app writes: `register(require(...))` with no `.default`.
// The required value is the plugin itself; `./testing` works from CommonJS too.
const Fastify = require('fastify')
const oauth2Password = require('fastify-oauth2-password')
const { authenticateAs } = require('fastify-oauth2-password/testing')

async function main () {
  const passwordHash = await oauth2Password.hashPassword('secret', { cost: 4 })
  const app = Fastify()
  await app.register(oauth2Password, {
    secret: 'a-plain-cjs-consumer-secret-of-32-bytes!',
    scopes: { me: 'Read your profile' },
    bcrypt: { cost: 4 },
    users: {
      findByUsername: (username) => username === 'johndoe' ? { id: 'johndoe', passwordHash, scopes: ['me'] } : null,
      findById: (id) => id === 'johndoe' ? { id } : null
    }
  })
  app.get('/users/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => request.currentUser())
  const login = await app.inject({
    method: 'POST',
    url: '/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: 'username=johndoe&password=secret'
  })
  const me = await app.inject({ url: '/users/me', headers: { authorization: `Bearer ${login.json().access_token}` } })
  const helped = await app.inject({ url: '/users/me', headers: await authenticateAs(app, { id: 'johndoe', scopes: ['me'] }) })
  await app.close()
  // One copy of the module: import() gives the same plugin require() gave
  const esm = await import('fastify-oauth2-password')
  console.log(JSON.stringify({
    login: login.statusCode,
    me: [me.statusCode, me.json()],
    testing: helped.statusCode,
    plugin: typeof oauth2Password === 'function' && oauth2Password.default === oauth2Password && esm.default === oauth2Password,
    named: oauth2Password.hashPassword === esm.hashPassword && oauth2Password.InvalidTokenError === esm.InvalidTokenError
  }))
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
