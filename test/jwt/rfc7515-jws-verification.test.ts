import { Buffer } from 'node:buffer'
import { createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto'
import t, { type Test } from 'tap'
import { invalidTokenError, type AccessTokens } from '../../lib/jwt/access-tokens.js'
import { accessTokensWith, type RawAccessTokenConfig } from '../helpers/access-tokens.js'

// RFC 7515 (JWS) details of the one-pass verifier that RFC 8725's suite does not reach:
// canonical segments, UTF-8, crit in any form, several HMAC algorithms, audience lists.

const SECRET = 'a-test-secret-that-is-at-least-64-bytes-long-so-that-hs512-fits!!'
const edPair = generateKeyPairSync('ed25519')

function b64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { sub: 'alice', scope: 'me', iat: nowSeconds() - 10, exp: nowSeconds() + 600, jti: 'jti-1', ...overrides }
}

function hmacToken (header: Record<string, unknown>, payload: string | Buffer, bits = 256): string {
  const input = `${b64url(JSON.stringify(header))}.${b64url(payload)}`
  return `${input}.${b64url(createHmac(`sha${bits}`, SECRET).update(input).digest())}`
}

function tokens (config: Partial<RawAccessTokenConfig> = {}): AccessTokens {
  return accessTokensWith({ secret: SECRET, ttlSeconds: 600, cacheSize: 0, ...config })
}

function refuses (t: Test, verifier: AccessTokens, token: string, message: string, name: string): void {
  t.throws(() => verifier.verify(token), { code: 'FST_OAUTH2_INVALID_TOKEN', message }, name)
}

// The last character of an unpadded segment carries spare bits; setting one gives another spelling of the same bytes
function withSpareBitSet (segment: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  return segment.slice(0, -1) + (alphabet[alphabet.indexOf(segment.slice(-1)) | 1] as string)
}

const HS256 = { alg: 'HS256', typ: 'at+jwt' }

t.test('RFC 4648 §3.5: a segment spelled non-canonically is refused, though it decodes to the same bytes', async (t) => {
  const verifier = tokens()
  const token = hmacToken(HS256, JSON.stringify(claims()))
  const [h, p, s] = token.split('.') as [string, string, string]
  t.equal(verifier.verify(token).sub, 'alice', 'the canonical token verifies')
  t.ok(s.length % 4 !== 0 && p.length % 4 !== 0, 'both segments end with spare bits')
  refuses(t, verifier, `${h}.${p}.${withSpareBitSet(s)}`, 'The access token is invalid', 'signature')
  const payload = withSpareBitSet(p)
  const resigned = `${h}.${payload}.${b64url(createHmac('sha256', SECRET).update(`${h}.${payload}`).digest())}`
  refuses(t, verifier, resigned, 'The access token is invalid', 'payload, even signed as spelled')
})

t.test('RFC 7515 §5.2: a payload that is not UTF-8 is refused, even when signed', async (t) => {
  const json = Buffer.concat([Buffer.from(JSON.stringify(claims()).slice(0, -1)), Buffer.from(',"x":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])
  refuses(t, tokens(), hmacToken(HS256, json), 'The access token is invalid', 'invalid UTF-8')
})

t.test('RFC 7515 §4.1.11: crit in any form is refused, no extension being understood', async (t) => {
  for (const crit of [null, 0, false, '']) {
    refuses(t, tokens(), hmacToken({ ...HS256, crit }, JSON.stringify(claims())), 'The access token is invalid', `crit ${JSON.stringify(crit)}`)
  }
})

// The verifier decodes each distinct header segment once: what it remembers must never stand in for a check
t.test('RFC 7515 §5.2: a header seen before still has its checks run for every token that carries it', async (t) => {
  const verifier = tokens()
  const good = hmacToken(HS256, JSON.stringify(claims()))
  const [header, payload] = good.split('.') as [string, string]
  for (const round of ['first', 'second']) {
    t.equal(verifier.verify(good).sub, 'alice', `${round} time: the token verifies`)
    refuses(t, verifier, `${header}.${b64url(JSON.stringify(claims({ sub: 'mallory' })))}.${good.split('.')[2] as string}`, 'The access token signature is invalid', `${round} time: another payload under its signature`)
    refuses(t, verifier, `${header}.${payload}.`, 'The access token signature is invalid', `${round} time: unsigned`)
    refuses(t, verifier, hmacToken({ alg: 'HS256', typ: 'JWT' }, JSON.stringify(claims())), 'The access token type is not at+jwt', `${round} time: typ JWT`)
    refuses(t, verifier, hmacToken({ ...HS256, crit: ['exp'] }, JSON.stringify(claims())), 'The access token is invalid', `${round} time: crit`)
    refuses(t, verifier, hmacToken({ alg: 5, typ: 'at+jwt' }, JSON.stringify(claims())), 'The access token is invalid', `${round} time: alg not a string`)
    refuses(t, verifier, hmacToken({ alg: 'HS384', typ: 'at+jwt' }, JSON.stringify(claims()), 384), 'The access token algorithm is not accepted', `${round} time: an algorithm not listed`)
    refuses(t, verifier, `${header}`, 'The access token is invalid', `${round} time: the header alone`)
  }
})

t.test('RFC 7515 §5.2: tokens with many distinct headers each verify by their own header', async (t) => {
  const verifier = tokens()
  const signed = Array.from({ length: 200 }, (_, index) => hmacToken({ ...HS256, kid: `key-${index}` }, JSON.stringify(claims({ sub: `user-${index}` }))))
  t.same(signed.map((token) => verifier.verify(token).sub), signed.map((_, index) => `user-${index}`), 'each one verifies')
  t.equal(verifier.verify(signed[0] as string).sub, 'user-0', 'the first again, its header long pushed out of memory')
  refuses(t, verifier, hmacToken({ ...HS256, kid: 7 }, JSON.stringify(claims())), 'The access token is invalid', 'then a kid that is not a string')
})

t.test('RFC 7518 §3.2: each listed HMAC algorithm verifies its own MAC length only', async (t) => {
  const verifier = tokens({ algorithms: ['HS256', 'HS384', 'HS512'] })
  for (const bits of [256, 384, 512]) {
    t.equal(verifier.verify(hmacToken({ alg: `HS${bits}`, typ: 'at+jwt' }, JSON.stringify(claims()), bits)).sub, 'alice', `HS${bits}`)
  }
  const [h, p] = hmacToken({ alg: 'HS384', typ: 'at+jwt' }, JSON.stringify(claims()), 384).split('.') as [string, string]
  const truncated = b64url(createHmac('sha384', SECRET).update(`${h}.${p}`).digest().subarray(0, 32))
  refuses(t, verifier, `${h}.${p}.${truncated}`, 'The access token signature is invalid', 'HS384 MAC truncated to 256 bits')
})

t.test('RFC 7518 §3.2: every character of the MAC counts, whichever algorithm checked the token before', async (t) => {
  const verifier = tokens({ algorithms: ['HS256', 'HS384', 'HS512'] })
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const sizes = [256, 512, 384]
  const signed = sizes.map((bits) => hmacToken({ alg: `HS${bits}`, typ: 'at+jwt' }, JSON.stringify(claims({ sub: `user-${bits}` })), bits))
  let refused = 0
  let checked = 0
  let validOnes = 0
  for (const token of signed) {
    const dot = token.lastIndexOf('.')
    const signature = token.slice(dot + 1)
    // Each position but the last takes another alphabet character; the last keeps its canonical spare bits
    for (let position = 0; position < signature.length - 1; position++) {
      const other = alphabet[(alphabet.indexOf(signature.charAt(position)) + 1) % 64] as string
      const forged = `${token.slice(0, dot + 1)}${signature.slice(0, position)}${other}${signature.slice(position + 1)}`
      checked++
      try {
        verifier.verify(forged)
      } catch (error) {
        if ((error as Error).message === 'The access token signature is invalid') refused++
      }
      // A valid token of another algorithm in between: the checks share no state across tokens
      if (verifier.verify(signed[checked % 3] as string).sub === `user-${sizes[checked % 3] as number}`) validOnes++
    }
  }
  t.equal(refused, checked, `${checked} forged signatures, each one character off, all refused`)
  t.equal(validOnes, checked, 'and the valid tokens checked between them all verified')
})

t.test('RFC 7515 §2: an asymmetric signature that is not base64url is refused', async (t) => {
  const verifier = accessTokensWith({ keys: [{ kid: 'ed', algorithm: 'EdDSA', privateKey: edPair.privateKey, publicKey: edPair.publicKey }], ttlSeconds: 600, cacheSize: 0 })
  const input = `${b64url(JSON.stringify({ alg: 'EdDSA', typ: 'at+jwt', kid: 'ed' }))}.${b64url(JSON.stringify(claims()))}`
  const signature = cryptoSign(null, Buffer.from(input), edPair.privateKey)
  t.equal(verifier.verify(`${input}.${b64url(signature)}`).sub, 'alice', 'the canonical token verifies')
  refuses(t, verifier, `${input}.${signature.toString('base64')}`, 'The access token is invalid', 'standard base64 with padding')
})

t.test('RFC 8725 §3.9: with several accepted audiences, any one of them matches', async (t) => {
  const verifier = tokens({ audience: ['https://a.example', 'https://b.example'] })
  t.equal(verifier.verify(hmacToken(HS256, JSON.stringify(claims({ aud: 'https://b.example' })))).sub, 'alice', 'one string')
  t.equal(verifier.verify(hmacToken(HS256, JSON.stringify(claims({ aud: ['https://x.example', 'https://a.example'] })))).sub, 'alice', 'one of a list')
  refuses(t, verifier, hmacToken(HS256, JSON.stringify(claims({ aud: ['https://x.example'] }))), 'The access token issuer or audience is not accepted', 'none of a list')
  refuses(t, verifier, hmacToken(HS256, JSON.stringify(claims({ aud: [] }))), 'The access token issuer or audience is not accepted', 'an empty list')
})

t.test('RFC 7519 §4.1.1: an iss that is not a string is refused when an issuer is configured', async (t) => {
  refuses(t, tokens({ issuer: 'https://auth.example' }), hmacToken(HS256, JSON.stringify(claims({ iss: 5 }))), 'The access token claims are invalid', 'iss a number')
})

t.test('fast-jwt errors (remote providers\' tokens) map to the same descriptions, generic when unknown', async (t) => {
  t.match(invalidTokenError({ code: 'FAST_JWT_EXPIRED' }), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token expired' })
  t.match(invalidTokenError({ code: 'FAST_JWT_MALFORMED' }), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token is invalid' })
  t.match(invalidTokenError(new Error('anything')), { message: 'The access token is invalid' })
})
