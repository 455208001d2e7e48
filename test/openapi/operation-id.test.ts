import t from 'tap'
import { operationIdOf } from '../../lib/openapi/operation-id.js'

t.test('operationIdOf: camelCase of the path\'s words', async (t) => {
  t.equal(operationIdOf('/token'), 'token')
  t.equal(operationIdOf('/v1/auth/token'), 'v1AuthToken')
  t.equal(operationIdOf('/.well-known/jwks.json'), 'wellKnownJwksJson')
  t.equal(operationIdOf('/oauth2/revoke'), 'oauth2Revoke')
})
