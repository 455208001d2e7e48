import { Buffer } from 'node:buffer'
import t from 'tap'
import { parseFormBody } from '../../lib/protocol/form-body.js'

function invalidRequest (description: string) {
  return { code: 'FST_OAUTH2_INVALID_REQUEST', statusCode: 400, error: 'invalid_request', message: description }
}

const BAD_ENCODING = invalidRequest('The request body is not valid form encoding')

t.test('parses name=value pairs into a null-prototype record', async (t) => {
  const parameters = parseFormBody('grant_type=password&username=johndoe&password=secret')
  t.same({ ...parameters }, { grant_type: 'password', username: 'johndoe', password: 'secret' })
  t.equal(Object.getPrototypeOf(parameters), null)
})

t.test('an empty body has no parameters', async (t) => {
  t.same({ ...parseFormBody('') }, {})
  t.same({ ...parseFormBody(Buffer.alloc(0)) }, {})
})

t.test('decodes percent-encoding and + as a space (WHATWG urlencoded)', async (t) => {
  t.same({ ...parseFormBody('username=john+doe&password=a%2Bb%20c%26d%3De') }, { username: 'john doe', password: 'a+b c&d=e' })
  t.same({ ...parseFormBody('user%6Eame=x') }, { username: 'x' }, 'names are decoded too')
  t.same({ ...parseFormBody('password=p%C3%A4ss%E2%82%AC') }, { password: 'päss€' })
})

t.test('accepts UTF-8 bytes and decodes them', async (t) => {
  t.same({ ...parseFormBody(Buffer.from('username=jöhn&password=€')) }, { username: 'jöhn', password: '€' })
})

t.test('RFC 6749 §3.1: parameters without a value are omitted', async (t) => {
  t.same({ ...parseFormBody('scope=&username=a&password') }, { username: 'a' })
})

t.test('skips empty pairs', async (t) => {
  t.same({ ...parseFormBody('&username=a&&password=b&') }, { username: 'a', password: 'b' })
})

t.test('keeps everything after the first = in the value', async (t) => {
  t.same({ ...parseFormBody('password=a=b==') }, { password: 'a=b==' })
})

t.test('names that are Object.prototype members are plain parameters', async (t) => {
  const parameters = parseFormBody('__proto__=x&constructor=y&toString=z')
  t.same(Object.entries(parameters), [['__proto__', 'x'], ['constructor', 'y'], ['toString', 'z']])
  t.equal(Object.getPrototypeOf(parameters), null, 'no prototype was set')
})

t.test('malformed percent-encoding is invalid_request', async (t) => {
  for (const body of ['username=%ZZ', 'username=%', 'username=%2', 'password=a%', '%ZZ=x', '%=x']) {
    t.throws(() => parseFormBody(body), BAD_ENCODING, body)
  }
})

t.test('invalid UTF-8 is invalid_request, percent-encoded or raw', async (t) => {
  for (const body of ['username=%FF', 'password=%C3', 'password=%C3%28', 'password=%ED%A0%80', 'username=%C0%AF']) {
    t.throws(() => parseFormBody(body), BAD_ENCODING, body)
  }
  const raw = [
    Buffer.from([0x70, 0x3d, 0xff]), // p=\xFF
    Buffer.from([0x70, 0x3d, 0xc3]), // truncated sequence
    Buffer.from([0x70, 0x3d, 0xed, 0xa0, 0x80]) // UTF-16 surrogate
  ]
  for (const body of raw) t.throws(() => parseFormBody(body), BAD_ENCODING, body.toString('hex'))
})

t.test('RFC 6749 §3.2: a repeated parameter is invalid_request, named only when this server defines it', async (t) => {
  for (const name of ['grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret', 'refresh_token', 'token', 'token_type_hint']) {
    t.throws(() => parseFormBody(`${name}=a&${name}=b`), invalidRequest(`The ${name} parameter is repeated`), name)
  }
  t.throws(() => parseFormBody('username=a&user%6Eame=b'), invalidRequest('The username parameter is repeated'), 'repeated once decoded')
  t.throws(() => parseFormBody('username=&username=b'), invalidRequest('The username parameter is repeated'), 'an empty first value still counts')
  const error = t.throws(() => parseFormBody('x-attacker-name=a&x-attacker-name=b'), invalidRequest('A request parameter is repeated'))
  t.notMatch(String((error as Error).message), 'x-attacker-name', 'an unknown name is never echoed')
})
