import { Buffer } from 'node:buffer'
import t from 'tap'
import { isBasicAuthorization, parseBasicCredentials } from '../../lib/protocol/basic-credentials.js'

function basic (credentials: string | Buffer, scheme = 'Basic'): string {
  return `${scheme} ${Buffer.from(credentials).toString('base64')}`
}

t.test('isBasicAuthorization: the Basic scheme, case-insensitive, whatever follows', async (t) => {
  for (const header of ['Basic abc', 'basic abc', 'BASIC abc', 'Basic', 'Basic  abc', 'Basic !!!']) {
    t.equal(isBasicAuthorization(header), true, header)
  }
  for (const header of ['', 'Bearer abc', 'Basicabc', 'Basic\tabc', ' Basic abc', 'Digest username="a"', 'Basic-x abc']) {
    t.equal(isBasicAuthorization(header), false, header)
  }
})

t.test('parseBasicCredentials: RFC 7617 user-id and password', async (t) => {
  t.same(parseBasicCredentials(basic('johndoe:secret')), { userId: 'johndoe', password: 'secret' })
  t.same(parseBasicCredentials(basic('johndoe:secret', 'bAsIc')), { userId: 'johndoe', password: 'secret' }, 'RFC 7235 §2.1: scheme is case-insensitive')
  t.same(parseBasicCredentials(`Basic   ${Buffer.from('a:b').toString('base64')}  `), { userId: 'a', password: 'b' }, 'several spaces before, trailing spaces after')
  t.same(parseBasicCredentials(basic('a:b:c')), { userId: 'a', password: 'b:c' }, 'RFC 7617 §2: the first colon splits, the password may hold more')
  t.same(parseBasicCredentials(basic(':')), { userId: '', password: '' })
  t.same(parseBasicCredentials(basic('a:')), { userId: 'a', password: '' })
  t.same(parseBasicCredentials(basic('jöhn:pässwörd €')), { userId: 'jöhn', password: 'pässwörd €' }, 'RFC 7617 §2.1: UTF-8')
})

t.test('parseBasicCredentials: null for anything malformed', async (t) => {
  const cases: Array<[string, string]> = [
    ['Bearer abc', 'another scheme'],
    ['Basic', 'no credentials'],
    ['Basic ', 'empty credentials'],
    ['Basic !!!!', 'not base64'],
    ['Basic YTpi=', 'wrong padding'],
    ['Basic YTpiYw', 'padding missing'],
    ['Basic YTpiYx==', 'stray bits: not canonical'],
    ['Basic YTpi YTpi', 'two tokens'],
    ['Basic\tYTpi', 'tab instead of space'],
    ['Basic YTpi====', 'too much padding'],
    ['Basic YT-i', 'base64url alphabet'],
    [basic('no-colon'), 'no colon'],
    [basic(Buffer.from([0xff, 0x3a, 0x61])), 'invalid UTF-8'],
    [basic(Buffer.from([0xc3, 0x3a])), 'truncated UTF-8 sequence'],
    [basic('a\x00:b'), 'NUL in user-id'],
    [basic('a:b\x00'), 'NUL in password'],
    [basic('a:b\r\nc'), 'CRLF in password'],
    [basic('a:b\x7F'), 'DEL in password'],
    [basic('a\t:b'), 'tab in user-id']
  ]
  for (const [header, why] of cases) t.equal(parseBasicCredentials(header), null, why)
})
