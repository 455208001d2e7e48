import { Buffer } from 'node:buffer'
import t from 'tap'
import { decodeJsonObject, decodeProtectedHeader, isCanonicalBase64url, splitCompactJws } from '../../lib/jwt/compact-jws.js'

function b64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

t.test('RFC 4648 §5, RFC 7515 §2: canonical unpadded base64url only', async (t) => {
  for (const bytes of [0, 1, 2, 3, 4, 5, 31, 32, 33]) {
    t.ok(isCanonicalBase64url(b64url(Buffer.alloc(bytes, 0xff))), `${bytes} bytes as Node encodes them`)
  }
  const refused: Record<string, string> = {
    'a lone 6-bit group': 'QUFBQ',
    'spare bits set after one byte': 'QR',
    'spare bits set after two bytes': 'QUF',
    padding: 'QQ==',
    'standard base64 +': 'a+b/',
    whitespace: 'QU FB'
  }
  for (const [name, segment] of Object.entries(refused)) t.notOk(isCanonicalBase64url(segment), name)
  t.equal(Buffer.from('QR', 'base64url').toString(), Buffer.from('QQ', 'base64url').toString(), 'Node would decode the non-canonical form to the same bytes')
})

t.test('RFC 7519 §7.2: a segment must hold a JSON object in UTF-8', async (t) => {
  t.same(decodeJsonObject(b64url('{"a":1,"a":2}')), { a: 2 }, 'duplicate members: the last one (RFC 7519 §4)')
  t.same(decodeJsonObject(b64url('{"name":"é"}')), { name: 'é' })
  for (const [name, segment] of Object.entries({
    'invalid UTF-8': b64url(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])),
    'not JSON': b64url('{"a":'),
    'an array': b64url('[]'),
    null: b64url('null'),
    'a string': b64url('"a"'),
    empty: '',
    'not base64url': 'e30='
  })) {
    t.equal(decodeJsonObject(segment), null, name)
  }
})

t.test('the protected header is read before anything is verified', async (t) => {
  t.same(decodeProtectedHeader(`${b64url('{"alg":"HS256"}')}.e30.sig`), { alg: 'HS256' })
  t.equal(decodeProtectedHeader('no-dot'), null)
})

t.test('RFC 7515 §7.1: exactly three segments, the payload canonical', async (t) => {
  t.same(splitCompactJws('aGVhZA.e30.c2ln'), { signingInput: 'aGVhZA.e30', payload: 'e30', signature: 'c2ln' })
  t.same(splitCompactJws('aGVhZA.e30.'), { signingInput: 'aGVhZA.e30', payload: 'e30', signature: '' }, 'an empty signature is the signature check\'s to refuse')
  for (const token of ['', 'one', 'two.segments', 'four.se.gm.ents', 'aGVhZA.e30=.c2ln', 'aGVhZA.e3.c2ln']) {
    t.equal(splitCompactJws(token), null, JSON.stringify(token))
  }
})
