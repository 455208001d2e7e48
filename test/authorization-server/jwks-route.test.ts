import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import t from 'tap'
import { buildApp, login } from '../helpers/build-app.js'

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })

t.test('serves the public key set of asymmetric keys, which verifies issued tokens', async (t) => {
  const { app } = await buildApp({ secret: undefined, keys: [{ kid: 'k1', algorithm: 'ES256', privateKey, publicKey }] })
  t.teardown(() => app.close())
  const response = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(response.statusCode, 200)
  t.equal(response.headers['cache-control'], 'public, max-age=300')
  const { keys } = response.json() as { keys: Array<Record<string, string>> }
  t.equal(keys.length, 1)
  t.match(keys[0], { kid: 'k1', alg: 'ES256', use: 'sig', kty: 'EC', crv: 'P-256' })
  t.notOk('d' in (keys[0] as object), 'no private member')

  const token = await login(app)
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const key = createPublicKey({ key: keys[0] as object as import('node:crypto').JsonWebKey, format: 'jwk' })
  const valid = verify('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
  t.ok(valid, 'the published key verifies a token from the token endpoint')
})

t.test('publishes nothing for an HMAC secret', async (t) => {
  const { app } = await buildApp()
  t.teardown(() => app.close())
  const response = await app.inject({ url: '/.well-known/jwks.json' })
  t.equal(response.statusCode, 404)
})
