'use strict'
// What a plain JavaScript CommonJS app writes: `register(require(...))` with no `.default`.
// Fastify (avvio) takes a module namespace's `default`, so this works at run time.
const Fastify = require('fastify')
const oauth2Password = require('fastify-oauth2-password')

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
  await app.close()
  console.log(JSON.stringify({ login: login.statusCode, me: [me.statusCode, me.json()], exports: Object.keys(oauth2Password).includes('default') }))
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
