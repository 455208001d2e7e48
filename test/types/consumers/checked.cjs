// @ts-check
'use strict'
// A JavaScript CommonJS app type-checked by tsc (checkJs, the packed declarations checked too):
// `app.register(require('fastify-oauth2-password'), opts)`, the augmented request.currentUser()
// and the ./testing helpers.
const Fastify = require('fastify')
const { authenticateAs } = require('fastify-oauth2-password/testing')

async function main () {
  const app = Fastify()
  await app.register(require('fastify-oauth2-password'), {
    secret: 'a-checked-js-consumer-secret-of-32-bytes',
    scopes: { me: 'Read your profile' },
    bcrypt: { cost: 4 },
    users: {
      findByUsername: (username) => username === 'johndoe' ? { id: 'johndoe', passwordHash: '', scopes: ['me'] } : null,
      findById: (id) => id === 'johndoe' ? { id } : null
    }
  })
  app.get('/users/me', { schema: { security: app.oauth2.requirement('me') } }, async (request) => {
    const user = await request.currentUser()
    return { id: user.id, scopes: [...request.auth?.scopes ?? []] }
  })
  // The test helpers are typed from CommonJS too
  /** @type {{ authorization: string }} */
  const headers = await authenticateAs(app, { id: 'johndoe', scopes: ['me'] }, ['me'])
  await app.inject({ url: '/users/me', headers })
  // @ts-expect-error: the options are checked: `acessTokenTtl` is not one
  app.register(require('fastify-oauth2-password'), { secret: 'x', acessTokenTtl: '1m', users: { findByUsername: () => null, findById: () => null } })
  return app
}

module.exports = { main }
