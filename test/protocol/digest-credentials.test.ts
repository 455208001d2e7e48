import t from 'tap'
import { decodeExtValue, isDigestAuthorization, parseDigestDirectives } from '../../lib/protocol/digest-credentials.js'

t.test('isDigestAuthorization: the Digest scheme, case-insensitive, and nothing else', async (t) => {
  for (const header of ['Digest', 'digest a=1', 'DIGEST  a=1']) t.equal(isDigestAuthorization(header), true, header)
  for (const header of ['Digestive a=1', 'Basic x', '', ' Digest a=1']) t.equal(isDigestAuthorization(header), false, header)
})

t.test('parseDigestDirectives: RFC 7235 §2.1 auth-params, quoted or token, names lowercased', async (t) => {
  t.same(parseDigestDirectives('Digest username="Mufasa", Realm=x, uri="/a?b=\\"c\\"", nc=00000001'), new Map([
    ['username', 'Mufasa'], ['realm', 'x'], ['uri', '/a?b="c"'], ['nc', '00000001']
  ]))
  t.same(parseDigestDirectives('Digest a = "1" ,, b=2 , '), new Map([['a', '1'], ['b', '2']]), 'empty list elements and trailing whitespace (RFC 9110 §5.6.1)')
  t.same(parseDigestDirectives('Digest'), new Map())
  t.same(parseDigestDirectives('Digest a="caf\u00c3\u00a9"'), new Map([['a', 'café']]), 'UTF-8 bytes of a quoted string')
})

t.test('parseDigestDirectives: null for anything malformed', async (t) => {
  for (const header of ['Basic a=1', 'Digest a', 'Digest a=', 'Digest a="1', 'Digest a=1 b=2', 'Digest a=1, a=2', 'Digest a=1; b=2', 'Digest =1', 'Digest a="\u00ff"', 'Digest a="\u0001"']) {
    t.equal(parseDigestDirectives(header), null, JSON.stringify(header))
  }
  const many = `Digest ${Array.from({ length: 33 }, (_, index) => `p${index}=1`).join(', ')}`
  t.equal(parseDigestDirectives(many), null, 'more than 32 directives')
  t.equal(parseDigestDirectives(many.replace(', p32=1', ''))?.size, 32)
})

t.test('decodeExtValue: RFC 8187 ext-value in UTF-8', async (t) => {
  t.equal(decodeExtValue("UTF-8''J%C3%A4s%C3%B8n%20Doe"), 'Jäsøn Doe')
  t.equal(decodeExtValue("utf-8'en'plain"), 'plain')
  for (const value of ["ISO-8859-1''x", "UTF-8'x", 'UTF-8x', "UTF-8''%C3", "UTF-8''a b", "UTF-8''%zz"]) t.equal(decodeExtValue(value), null, value)
})
