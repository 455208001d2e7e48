import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { readJwks, REMOTE_ALGORITHMS } from '../../lib/jwt/remote-jwks.js'

const ALL = REMOTE_ALGORITHMS

function jwk (pair: { publicKey: import('node:crypto').KeyObject }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ...pair.publicKey.export({ format: 'jwk' }), ...extra }
}

t.test('not a key set: null', async (t) => {
  for (const document of [null, 'keys', [], {}, { keys: {} }]) t.equal(readJwks(document, ALL), null, JSON.stringify(document))
  t.same(readJwks({ keys: [] }, ALL), [])
})

t.test('each key gets the algorithms its type fits (RFC 7518), or its own alg', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const keys = readJwks({
    keys: [
      jwk(rsa, { kid: 'rsa' }),
      jwk(rsa, { kid: 'rsa-ps', alg: 'PS384' }),
      jwk(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), { kid: 'p256' }),
      jwk(generateKeyPairSync('ec', { namedCurve: 'secp521r1' }), { kid: 'p521', use: 'sig' }),
      jwk(generateKeyPairSync('ed448'), { kid: 'ed448' }),
      jwk(generateKeyPairSync('ed25519'))
    ]
  }, ALL)
  t.same(keys?.map((key) => [key.kid, key.algorithms]), [
    ['rsa', ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']],
    ['rsa-ps', ['PS384']],
    ['p256', ['ES256']],
    ['p521', ['ES512']],
    ['ed448', ['EdDSA']],
    [undefined, ['EdDSA']]
  ])
  t.match(keys?.[0]?.pem, /^-----BEGIN PUBLIC KEY-----/)
  t.same(readJwks({ keys: [jwk(rsa, { kid: 'rsa' })] }, new Set(['PS256']))?.map((key) => key.algorithms), [['PS256']], 'within the allowed ones')
})

t.test('keys that cannot verify here are left out', async (t) => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const keys = readJwks({
    keys: [
      null,
      { kty: 'oct', k: 'c2VjcmV0' },
      jwk(ec, { kid: 'enc', use: 'enc' }),
      jwk(ec, { kid: 7 }),
      { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: 'broken' },
      jwk(generateKeyPairSync('rsa', { modulusLength: 1024 }), { kid: 'weak' }),
      jwk(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }), { kid: 'k1' }),
      jwk(generateKeyPairSync('x25519'), { kid: 'x25519' }),
      jwk(ec, { kid: 'wrong-alg', alg: 'RS256' }),
      jwk(ec, { kid: 'ok' }),
      jwk(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), { kid: 'ok' })
    ]
  }, ALL)
  t.same(keys?.map((key) => key.kid), ['ok'], 'and a repeated kid keeps the first key')
  t.same(readJwks({ keys: [jwk(ec, { kid: 'es' })] }, new Set(['RS256'])), [], 'no allowed algorithm fits')
})
