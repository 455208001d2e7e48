import { Buffer } from 'node:buffer'
import { constants, createHmac, createPublicKey, createSecretKey, generateKeyPairSync, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto'
import t, { type Test } from 'tap'
import type { AccessTokens, SigningKey } from '../../lib/jwt/access-tokens.js'
import { accessTokensWith, type RawAccessTokenConfig } from '../helpers/access-tokens.js'

// RFC 8725 (JWT Best Current Practices) and RFC 9068 (JWT access tokens): every
// forgery is built by hand with node:crypto, never with the library under test.

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long'
const TTL = 600

const rsaPair = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaPair2 = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ecPair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const edPair = generateKeyPairSync('ed25519')
const edPair2 = generateKeyPairSync('ed25519')

// ---------------------------------------------------------------------------
// Hand-made compact JWS (RFC 7515 §7.1)
// ---------------------------------------------------------------------------

type Signer = (input: string) => Buffer

function b64url (value: string | Buffer): string {
  return Buffer.from(value).toString('base64url')
}

/** A JSON value is serialized; a string is taken as the raw segment text. */
function segment (value: unknown): string {
  return b64url(typeof value === 'string' ? value : JSON.stringify(value))
}

function forge (header: unknown, payload: unknown, signer: Signer): string {
  const input = `${segment(header)}.${segment(payload)}`
  return `${input}.${b64url(signer(input))}`
}

function hs (secret: string | Buffer, bits = 256): Signer {
  return (input) => createHmac(`sha${bits}`, secret).update(input).digest()
}

function rs256 (privateKey: KeyObject): Signer {
  return (input) => cryptoSign('sha256', Buffer.from(input), privateKey)
}

function ps256 (privateKey: KeyObject): Signer {
  return (input) => cryptoSign('sha256', Buffer.from(input), { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST })
}

function es256 (privateKey: KeyObject): Signer {
  // RFC 7518 §3.4: R || S, not DER
  return (input) => cryptoSign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' })
}

function eddsa (privateKey: KeyObject): Signer {
  return (input) => cryptoSign(null, Buffer.from(input), privateKey)
}

const unsigned: Signer = () => Buffer.alloc(0)

function nowSeconds (): number {
  return Math.floor(Date.now() / 1000)
}

function header (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { alg: 'HS256', typ: 'at+jwt', ...overrides }
}

/** Valid claims; an override set to `undefined` removes the claim (JSON drops it). */
function claims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds()
  return { sub: 'alice', scope: 'me', iat: now - 10, exp: now + 600, jti: 'Wm8h3b7fQy2Jr0cX1aZk4g', ...overrides }
}

function secretTokens (config: Partial<RawAccessTokenConfig> = {}): AccessTokens {
  return accessTokensWith({ secret: SECRET, ttlSeconds: TTL, cacheSize: 0, ...config })
}

function exactly (text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
}

function refuses (t: Test, tokens: AccessTokens, token: string, message: string, name = message): void {
  t.throws(() => tokens.verify(token), { code: 'FST_OAUTH2_INVALID_TOKEN', statusCode: 401, error: 'invalid_token', message: exactly(message) }, name)
}

function accepts (t: Test, tokens: AccessTokens, token: string, name: string): void {
  t.equal(tokens.verify(token).sub, 'alice', name)
}

const rsaKey: SigningKey = { kid: 'rs', algorithm: 'RS256', privateKey: rsaPair.privateKey, publicKey: rsaPair.publicKey }
const ecKey: SigningKey = { kid: 'ec', algorithm: 'ES256', privateKey: ecPair.privateKey, publicKey: ecPair.publicKey }
const edKey: SigningKey = { kid: 'ed', algorithm: 'EdDSA', privateKey: edPair.privateKey, publicKey: edPair.publicKey }

function keyTokens (keys: SigningKey[], config: Partial<RawAccessTokenConfig> = {}): AccessTokens {
  return accessTokensWith({ keys, ttlSeconds: TTL, cacheSize: 0, ...config })
}

// ---------------------------------------------------------------------------
// Forged tokens, one kind per subtest
// ---------------------------------------------------------------------------

t.test('baseline: a hand-made token with the right key verifies (the forgeries below are meaningful)', async (t) => {
  accepts(t, secretTokens(), forge(header(), claims(), hs(SECRET)), 'HS256')
  accepts(t, keyTokens([rsaKey]), forge(header({ alg: 'RS256', kid: 'rs' }), claims(), rs256(rsaPair.privateKey)), 'RS256')
  accepts(t, keyTokens([{ ...rsaKey, algorithm: 'PS256' }]), forge(header({ alg: 'PS256', kid: 'rs' }), claims(), ps256(rsaPair.privateKey)), 'PS256')
  accepts(t, keyTokens([ecKey]), forge(header({ alg: 'ES256', kid: 'ec' }), claims(), es256(ecPair.privateKey)), 'ES256')
  accepts(t, keyTokens([edKey]), forge(header({ alg: 'EdDSA', kid: 'ed' }), claims(), eddsa(edPair.privateKey)), 'EdDSA')
})

t.test('RFC 8725 §3.1: alg "none" is refused, in every letter case', async (t) => {
  const tokens = secretTokens()
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    refuses(t, tokens, forge(header({ alg }), claims(), unsigned), 'The access token signature is invalid', `${alg}, no signature`)
    refuses(t, tokens, forge(header({ alg }), claims(), hs(SECRET)), 'The access token algorithm is not accepted', `${alg}, HMAC signature`)
  }
  refuses(t, keyTokens([edKey]), forge(header({ alg: 'none', kid: 'ed' }), claims(), unsigned), 'The access token signature is invalid', 'none against asymmetric keys')
})

t.test('RFC 8725 §3.1: algorithms outside the allow-list are refused (HS384, HS512 with the right secret)', async (t) => {
  const tokens = secretTokens()
  refuses(t, tokens, forge(header({ alg: 'HS384' }), claims(), hs(SECRET, 384)), 'The access token algorithm is not accepted', 'HS384')
  refuses(t, tokens, forge(header({ alg: 'HS512' }), claims(), hs(SECRET, 512)), 'The access token algorithm is not accepted', 'HS512')
})

t.test('RFC 8725 §3.1: an RS256 token presented to an HS256 verifier is refused', async (t) => {
  refuses(t, secretTokens(), forge(header({ alg: 'RS256' }), claims(), rs256(rsaPair.privateKey)), 'The access token algorithm is not accepted')
})

t.test('RFC 8725 §2.1: HS256 signed with the RSA public key (algorithm confusion) is refused', async (t) => {
  const tokens = keyTokens([rsaKey, edKey])
  const pem = rsaPair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  const jwk = JSON.stringify(rsaPair.publicKey.export({ format: 'jwk' }))
  refuses(t, tokens, forge(header({ kid: 'rs' }), claims(), hs(pem)), 'The access token algorithm is not accepted', 'public PEM as HMAC secret')
  refuses(t, tokens, forge(header({ kid: 'rs' }), claims(), hs(jwk)), 'The access token algorithm is not accepted', 'public JWK as HMAC secret')
  refuses(t, tokens, forge(header({ kid: 'ed' }), claims(), hs(edPair.publicKey.export({ type: 'spki', format: 'pem' }))), 'The access token algorithm is not accepted', 'Ed25519 public PEM as HMAC secret')
  refuses(t, tokens, forge(header(), claims(), hs(pem)), 'The access token signing key is unknown', 'without a kid')
})

t.test('a bad signature is refused', async (t) => {
  const tokens = secretTokens()
  const [h, , s] = forge(header(), claims(), hs(SECRET)).split('.')
  refuses(t, tokens, `${h}.${segment(claims({ sub: 'admin' }))}.${s}`, 'The access token signature is invalid', 'payload changed after signing')
  refuses(t, tokens, `${h}.${segment(claims())}.${b64url(Buffer.alloc(32, 1))}`, 'The access token signature is invalid', 'random signature')
  refuses(t, tokens, `${h}.${segment(claims())}.${(s as string).slice(0, 20)}`, 'The access token signature is invalid', 'truncated signature')
  refuses(t, keyTokens([ecKey]), `${forge(header({ alg: 'ES256', kid: 'ec' }), claims(), es256(ecPair.privateKey)).slice(0, -4)}AAAA`, 'The access token signature is invalid', 'ES256 signature altered')
})

t.test('an empty or missing signature is refused', async (t) => {
  const tokens = secretTokens()
  const unsignedToken = forge(header(), claims(), unsigned)
  t.ok(unsignedToken.endsWith('.'))
  refuses(t, tokens, unsignedToken, 'The access token signature is invalid', 'empty signature')
  refuses(t, tokens, unsignedToken.slice(0, -1), 'The access token is invalid', 'no signature segment')
})

t.test('a token signed with another secret is refused', async (t) => {
  refuses(t, secretTokens(), forge(header(), claims(), hs('another-secret-that-is-also-32-bytes-long')), 'The access token signature is invalid')
})

t.test('RFC 7519 §4.1.4: an expired token is refused', async (t) => {
  const token = forge(header(), claims({ exp: nowSeconds() - 20 }), hs(SECRET))
  refuses(t, secretTokens(), token, 'The access token expired')
  accepts(t, secretTokens({ clockToleranceSeconds: 60 }), token, 'within the clock tolerance')
})

t.test('RFC 7519 §4.1.5: a token not yet valid (nbf) is refused', async (t) => {
  const token = forge(header(), claims({ nbf: nowSeconds() + 30 }), hs(SECRET))
  refuses(t, secretTokens(), token, 'The access token is not valid yet')
  accepts(t, secretTokens({ clockToleranceSeconds: 60 }), token, 'within the clock tolerance')
  accepts(t, secretTokens(), forge(header(), claims({ nbf: nowSeconds() - 5 }), hs(SECRET)), 'nbf in the past')
})

t.test('a token issued in the future (iat) is refused beyond the clock tolerance', async (t) => {
  const token = forge(header(), claims({ iat: nowSeconds() + 30 }), hs(SECRET))
  refuses(t, secretTokens(), token, 'The access token was issued in the future')
  accepts(t, secretTokens({ clockToleranceSeconds: 60 }), token, 'within the clock tolerance')
})

t.test('RFC 9068 §2.2: a token missing exp, iat, sub, jti or scope is refused', async (t) => {
  const tokens = secretTokens()
  for (const claim of ['exp', 'iat', 'sub', 'jti', 'scope']) {
    refuses(t, tokens, forge(header(), claims({ [claim]: undefined }), hs(SECRET)), 'The access token claims are invalid', `no ${claim}`)
  }
})

t.test('claims of the wrong type are refused', async (t) => {
  const tokens = secretTokens()
  const wrong: Record<string, Record<string, unknown>> = {
    'exp as a string': { exp: String(nowSeconds() + 600) },
    'exp null': { exp: null },
    'iat as a string': { iat: String(nowSeconds()) },
    'nbf as a string': { nbf: '0' },
    'sub as a number': { sub: 42 },
    'sub empty': { sub: '' },
    'scope as an array': { scope: ['me'] },
    'jti as a number': { jti: 7 },
    'jti empty': { jti: '' },
    'client_id as a number': { client_id: 5 }
  }
  for (const [name, overrides] of Object.entries(wrong)) {
    refuses(t, tokens, forge(header(), claims(overrides), hs(SECRET)), 'The access token claims are invalid', name)
  }
  // JSON.parse reads 1e400 as Infinity: such a token would never expire
  const forever = JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e400')
  refuses(t, tokens, forge(header(), forever, hs(SECRET)), 'The access token claims are invalid', 'exp = 1e400 (Infinity)')
  const foreverNbf = JSON.stringify(claims()).replace(/}$/, ',"nbf":-1e400}')
  refuses(t, tokens, forge(header(), foreverNbf, hs(SECRET)), 'The access token claims are invalid', 'nbf = -1e400 (-Infinity)')
})

t.test('RFC 7519 §7.2: a payload that is not a JSON object is refused', async (t) => {
  const tokens = secretTokens()
  for (const payload of ['[1,2]', '"alice"', '42', 'null', 'true']) {
    refuses(t, tokens, forge(header(), payload, hs(SECRET)), 'The access token is invalid', payload)
  }
})

t.test('malformed base64url or JSON is refused', async (t) => {
  const tokens = secretTokens()
  const [h, p, s] = forge(header(), claims(), hs(SECRET)).split('.') as [string, string, string]
  const malformed: Record<string, string> = {
    'empty string': '',
    'one segment': h,
    'two segments': `${h}.${p}`,
    'four segments': `${h}.${p}.${s}.${s}`,
    'padding in the header': `${h}=.${p}.${s}`,
    'padding in the payload': `${h}.${p}=.${s}`,
    'base64 "+" in the header': `${h.slice(0, -1)}+.${p}.${s}`,
    'whitespace in the payload': `${h}.${p.slice(0, 10)} ${p.slice(10)}.${s}`,
    'newline in the payload': `${h}.${p.slice(0, 10)}\n${p.slice(10)}.${s}`,
    'header not JSON': forge('{"alg":"HS256",', claims(), hs(SECRET)),
    'header a JSON array': forge('["HS256"]', claims(), hs(SECRET)),
    'payload not JSON': forge(header(), '{"sub":"alice"', hs(SECRET))
  }
  for (const [name, token] of Object.entries(malformed)) {
    refuses(t, tokens, token, 'The access token is invalid', name)
  }
  refuses(t, tokens, `${h}.${p}.${s}/`, 'The access token is invalid', 'base64 "/" in the signature')
})

t.test('RFC 7515 §4.1.11: an unknown crit header is refused', async (t) => {
  const tokens = secretTokens()
  refuses(t, tokens, forge(header({ crit: ['b64'], b64: false }), claims(), hs(SECRET)), 'The access token is invalid', 'crit b64')
  refuses(t, tokens, forge(header({ crit: ['https://example.com/ext'], 'https://example.com/ext': 1 }), claims(), hs(SECRET)), 'The access token is invalid', 'crit private extension')
  refuses(t, tokens, forge(header({ crit: [] }), claims(), hs(SECRET)), 'The access token is invalid', 'empty crit')
  refuses(t, tokens, forge(header({ crit: 'exp' }), claims(), hs(SECRET)), 'The access token is invalid', 'crit not an array')
})

t.test('RFC 9068 §4, RFC 8725 §3.11: typ must be at+jwt (or application/at+jwt, any case)', async (t) => {
  const tokens = secretTokens()
  for (const typ of ['JWT', 'jwt', 'at+jwt+x', 'application/jwt', '', undefined]) {
    refuses(t, tokens, forge(header({ typ }), claims(), hs(SECRET)), 'The access token type is not at+jwt', `typ ${JSON.stringify(typ)}`)
  }
  // RFC 7515 §4.1.9: typ is a string; another type is a malformed header
  for (const typ of [5, null]) {
    refuses(t, tokens, forge(header({ typ }), claims(), hs(SECRET)), 'The access token is invalid', `typ ${JSON.stringify(typ)}`)
  }
  for (const typ of ['at+jwt', 'AT+JWT', 'application/at+jwt', 'Application/At+JWT']) {
    accepts(t, tokens, forge(header({ typ }), claims(), hs(SECRET)), `typ ${typ}`)
  }
})

t.test('RFC 8725 §3.8: a wrong or missing iss is refused when an issuer is configured', async (t) => {
  const tokens = secretTokens({ issuer: 'https://auth.example' })
  accepts(t, tokens, forge(header(), claims({ iss: 'https://auth.example' }), hs(SECRET)), 'right issuer')
  refuses(t, tokens, forge(header(), claims({ iss: 'https://evil.example' }), hs(SECRET)), 'The access token issuer or audience is not accepted', 'wrong issuer')
  refuses(t, tokens, forge(header(), claims({ iss: ['https://auth.example'] }), hs(SECRET)), 'The access token issuer or audience is not accepted', 'issuer in an array')
  refuses(t, tokens, forge(header(), claims(), hs(SECRET)), 'The access token claims are invalid', 'no issuer')
})

t.test('RFC 8725 §3.9: a wrong or missing aud is refused when an audience is configured', async (t) => {
  const tokens = secretTokens({ audience: 'https://api.example' })
  accepts(t, tokens, forge(header(), claims({ aud: 'https://api.example' }), hs(SECRET)), 'right audience')
  accepts(t, tokens, forge(header(), claims({ aud: ['https://other.example', 'https://api.example'] }), hs(SECRET)), 'audience among several')
  refuses(t, tokens, forge(header(), claims({ aud: 'https://other.example' }), hs(SECRET)), 'The access token issuer or audience is not accepted', 'wrong audience')
  refuses(t, tokens, forge(header(), claims({ aud: ['https://other.example'] }), hs(SECRET)), 'The access token issuer or audience is not accepted', 'wrong audiences')
  refuses(t, tokens, forge(header(), claims({ aud: 5 }), hs(SECRET)), 'The access token claims are invalid', 'audience not a string')
  refuses(t, tokens, forge(header(), claims(), hs(SECRET)), 'The access token claims are invalid', 'no audience')
})

t.test('an unknown or missing kid is refused when keys are asymmetric', async (t) => {
  const tokens = keyTokens([edKey])
  const signer = eddsa(edPair.privateKey)
  refuses(t, tokens, forge(header({ alg: 'EdDSA', kid: 'other' }), claims(), signer), 'The access token signing key is unknown', 'unknown kid')
  refuses(t, tokens, forge(header({ alg: 'EdDSA' }), claims(), signer), 'The access token signing key is unknown', 'no kid')
  refuses(t, tokens, forge(header({ alg: 'EdDSA', kid: 1 }), claims(), signer), 'The access token is invalid', 'kid not a string')
  refuses(t, tokens, forge('["ed"]', claims(), signer), 'The access token is invalid', 'header an array')
  refuses(t, tokens, forge('null', claims(), signer), 'The access token is invalid', 'header null')
  refuses(t, tokens, forge('{"kid":"ed"', claims(), signer), 'The access token is invalid', 'header not JSON')
  refuses(t, tokens, `=${forge(header({ alg: 'EdDSA', kid: 'ed' }), claims(), signer)}`, 'The access token is invalid', 'header not base64url')
  refuses(t, tokens, 'no-dots-at-all', 'The access token is invalid', 'no header')
})

t.test('a token over 8 KiB is refused before decoding', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  const byLength = new Map<number, string>()
  for (let pad = 5900; pad < 6200; pad++) {
    const { token } = tokens.sign('alice', [], { claims: { pad: 'x'.repeat(pad) } })
    byLength.set(token.length, token)
  }
  const longest = Math.max(...[...byLength.keys()].filter((length) => length <= 8192))
  const shortestOver = Math.min(...[...byLength.keys()].filter((length) => length > 8192))
  t.ok(longest >= 8190 && shortestOver <= 8194, `boundary lengths ${longest} and ${shortestOver}`)
  accepts(t, tokens, byLength.get(longest) as string, 'at most 8 KiB, validly signed')
  refuses(t, tokens, byLength.get(shortestOver) as string, 'The access token is invalid', 'over 8 KiB, validly signed')
  refuses(t, tokens, 'a'.repeat(1 << 20), 'The access token is invalid', '1 MiB of junk')
})

// ---------------------------------------------------------------------------
// Asymmetric keys
// ---------------------------------------------------------------------------

t.test('RS256, PS256, ES256 and EdDSA keys sign tokens with kid and typ, and verify them', async (t) => {
  const keys: SigningKey[] = [rsaKey, { ...rsaKey, kid: 'ps', algorithm: 'PS256' }, ecKey, edKey]
  for (const key of keys) {
    const tokens = keyTokens([key])
    const { token, claims: signed } = tokens.sign('alice', ['me'], { clientId: 'cli' })
    t.same(JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()), { alg: key.algorithm, typ: 'at+jwt', kid: key.kid }, `${key.algorithm} header`)
    t.same(tokens.verify(token), signed, `${key.algorithm} round trip`)
  }
})

t.test('keys may be given as PEM text, KeyObjects or a public JWK', async (t) => {
  const pemKey: SigningKey = {
    kid: 'pem',
    algorithm: 'ES256',
    privateKey: ecPair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: ecPair.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }
  const signed = keyTokens([pemKey]).sign('alice', [])
  accepts(t, keyTokens([{ kid: 'pem', algorithm: 'ES256', publicKey: ecPair.publicKey.export({ format: 'jwk' }) }]), signed.token, 'verified with a JWK')
  accepts(t, keyTokens([{ kid: 'pem', algorithm: 'ES256', publicKey: ecPair.privateKey }]), signed.token, 'a private KeyObject as publicKey is reduced to its public half')
})

t.test('RFC 8725 §3.1: the kid picks the key and the key fixes the algorithm', async (t) => {
  const tokens = keyTokens([rsaKey, ecKey, edKey, { kid: 'ed2', algorithm: 'EdDSA', publicKey: edPair2.publicKey }])
  accepts(t, tokens, forge(header({ alg: 'EdDSA', kid: 'ed2' }), claims(), eddsa(edPair2.privateKey)), 'the second EdDSA key verifies its own tokens')
  refuses(t, tokens, forge(header({ alg: 'EdDSA', kid: 'ed' }), claims(), eddsa(edPair2.privateKey)), 'The access token signature is invalid', 'signed by ed2, labelled ed')
  refuses(t, tokens, forge(header({ alg: 'ES256', kid: 'rs' }), claims(), es256(ecPair.privateKey)), 'The access token algorithm is not accepted', 'ES256 under the RSA kid')
  refuses(t, tokens, forge(header({ alg: 'PS256', kid: 'rs' }), claims(), ps256(rsaPair.privateKey)), 'The access token algorithm is not accepted', 'PS256 with an RS256 key')
})

t.test('RFC 8725 §3.10: a key embedded in the header (jwk, jku, x5u) is never trusted', async (t) => {
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const tokens = keyTokens([ecKey])
  const signer = es256(attacker.privateKey)
  refuses(t, tokens, forge(header({ alg: 'ES256', kid: 'ec', jwk: attacker.publicKey.export({ format: 'jwk' }) }), claims(), signer), 'The access token signature is invalid', 'jwk header')
  refuses(t, tokens, forge(header({ alg: 'ES256', kid: 'ec', jku: 'https://evil.example/jwks.json' }), claims(), signer), 'The access token signature is invalid', 'jku header')
  refuses(t, tokens, forge(header({ alg: 'ES256', kid: 'ec', x5u: 'https://evil.example/cert.pem' }), claims(), signer), 'The access token signature is invalid', 'x5u header')
})

t.test('rotation: a retired key verifies until it is removed; the first key with a private key signs', async (t) => {
  const oldKey: SigningKey = { kid: 'old', algorithm: 'EdDSA', privateKey: edPair.privateKey, publicKey: edPair.publicKey }
  const newKey: SigningKey = { kid: 'new', algorithm: 'EdDSA', privateKey: edPair2.privateKey, publicKey: edPair2.publicKey }
  const before = keyTokens([oldKey])
  const oldToken = before.sign('alice', ['me']).token

  const during = keyTokens([{ kid: 'old', algorithm: 'EdDSA', publicKey: edPair.publicKey }, newKey])
  accepts(t, during, oldToken, 'a token of the retired key still verifies')
  const newToken = during.sign('alice', ['me']).token
  t.match(JSON.parse(Buffer.from(newToken.split('.')[0] as string, 'base64url').toString()), { kid: 'new' }, 'the first key with a privateKey signs')
  accepts(t, during, newToken, 'and its tokens verify')
  refuses(t, before, newToken, 'The access token signing key is unknown', 'instances not yet rotated do not know the new key')

  const after = keyTokens([newKey])
  refuses(t, after, oldToken, 'The access token signing key is unknown', 'a removed key verifies nothing')
})

t.test('keys without a private key verify but cannot sign', async (t) => {
  const verifier = keyTokens([{ kid: 'ed', algorithm: 'EdDSA', publicKey: edPair.publicKey }])
  accepts(t, verifier, keyTokens([edKey]).sign('alice', []).token, 'verifies')
  t.throws(() => verifier.sign('alice', []), { code: 'FST_OAUTH2_INVALID_OPTION', message: /^Invalid option keys: / })
})

t.test('RFC 7517: the JWKS publishes public keys only, with kid, alg and use', async (t) => {
  const tokens = keyTokens([rsaKey, ecKey, edKey, { kid: 'ed2', algorithm: 'EdDSA', publicKey: edPair2.publicKey }])
  const set = tokens.jwks
  t.ok(set !== null && Object.isFrozen(set) && Object.isFrozen(set.keys))
  t.same(set, {
    keys: [
      { ...rsaPair.publicKey.export({ format: 'jwk' }), kid: 'rs', alg: 'RS256', use: 'sig' },
      { ...ecPair.publicKey.export({ format: 'jwk' }), kid: 'ec', alg: 'ES256', use: 'sig' },
      { ...edPair.publicKey.export({ format: 'jwk' }), kid: 'ed', alg: 'EdDSA', use: 'sig' },
      { ...edPair2.publicKey.export({ format: 'jwk' }), kid: 'ed2', alg: 'EdDSA', use: 'sig' }
    ]
  })
  for (const jwk of set?.keys ?? []) {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) t.notOk(member in jwk, `${String(jwk.kid)} has no ${member}`)
  }
  // A client holding only the JWKS can check the signature itself
  const token = tokens.sign('alice', []).token
  const [h, p, s] = token.split('.') as [string, string, string]
  const publicKey = createPublicKey({ key: JSON.parse(JSON.stringify(set?.keys[0])), format: 'jwk' })
  t.ok(cryptoVerify('sha256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url')), 'the published RSA key verifies a token')
})

// ---------------------------------------------------------------------------
// Configuration: refused at creation, with the option named
// ---------------------------------------------------------------------------

function configError (t: Test, config: Record<string, unknown>, option: string, name = option): void {
  t.throws(() => accessTokensWith({ ttlSeconds: TTL, ...config } as unknown as RawAccessTokenConfig), {
    code: 'FST_OAUTH2_INVALID_OPTION',
    message: new RegExp(`^Invalid option ${option.replace(/[[\].]/g, '\\$&')}: `)
  }, name)
}

t.test('RFC 7518 §3.2: a secret shorter than the hash output is refused', async (t) => {
  configError(t, { secret: 'x'.repeat(31) }, 'secret', '31 characters')
  configError(t, { secret: Buffer.alloc(31) }, 'secret', '31-byte Buffer')
  configError(t, { secret: 'x'.repeat(32), algorithms: ['HS256', 'HS384'] }, 'secret', 'HS384 needs 48 bytes')
  configError(t, { secret: 'x'.repeat(48), algorithms: ['HS512'] }, 'secret', 'HS512 needs 64 bytes')
  configError(t, { secret: 42 }, 'secret', 'not a string or Buffer')
  t.ok(accessTokensWith({ secret: 'é'.repeat(16), ttlSeconds: TTL }), '32 UTF-8 bytes are enough')
})

t.test('a secret or keys are required, not both', async (t) => {
  configError(t, {}, 'secret', 'neither')
  configError(t, { secret: SECRET, keys: [edKey] }, 'secret', 'both')
})

t.test('RFC 8725 §3.1: "none" in algorithms is refused, in every letter case', async (t) => {
  for (const none of ['none', 'None', 'NONE']) {
    configError(t, { secret: SECRET, algorithms: ['HS256', none] }, 'algorithms', none)
    configError(t, { keys: [edKey], algorithms: [none] }, 'algorithms', `${none} with keys`)
  }
  configError(t, { secret: SECRET, algorithms: [] }, 'algorithms', 'empty')
  configError(t, { secret: SECRET, algorithms: 'HS256' }, 'algorithms', 'not an array')
  configError(t, { secret: SECRET, algorithms: [256] }, 'algorithms', 'not strings')
})

t.test('algorithms must fit the key material', async (t) => {
  configError(t, { secret: SECRET, algorithms: ['RS256'] }, 'algorithms', 'RS256 with a secret')
  configError(t, { secret: SECRET, algorithms: ['HS256', 'ES256'] }, 'algorithms', 'ES256 with a secret')
  configError(t, { keys: [rsaKey], algorithms: ['HS256'] }, 'algorithms', 'HS256 with keys')
  configError(t, { keys: [ecKey], algorithms: ['ES256', 'EdDSA'] }, 'algorithms', 'an algorithm no key uses')
  configError(t, { keys: [ecKey, edKey], algorithms: ['ES256'] }, 'keys[1].algorithm', 'a key whose algorithm is not listed')
  t.ok(accessTokensWith({ keys: [ecKey, edKey], algorithms: ['EdDSA', 'ES256', 'EdDSA'], ttlSeconds: TTL }), 'listing exactly the keys\' algorithms')
})

t.test('RFC 7518 §3.3, §3.4, RFC 8037: a key must fit its algorithm', async (t) => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const mismatches: Array<[string, KeyObject, SigningKey['algorithm']]> = [
    ['RSA key for ES256', rsaPair.publicKey, 'ES256'],
    ['RSA key for EdDSA', rsaPair.publicKey, 'EdDSA'],
    ['P-256 key for RS256', ecPair.publicKey, 'RS256'],
    ['Ed25519 key for ES256', edPair.publicKey, 'ES256'],
    ['Ed25519 key for PS256', edPair.publicKey, 'PS256'],
    ['P-384 key for ES256', p384.publicKey, 'ES256'],
    ['secp256k1 key for ES256', secp256k1.publicKey, 'ES256'],
    ['1024-bit RSA key for RS256', rsa1024.publicKey, 'RS256']
  ]
  for (const [name, publicKey, algorithm] of mismatches) {
    configError(t, { keys: [{ kid: 'k', algorithm, publicKey }] }, 'keys[0].publicKey', name)
  }
})

t.test('each key entry is validated', async (t) => {
  const encrypted = ecPair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString()
  configError(t, { keys: [] }, 'keys', 'empty')
  configError(t, { keys: edKey }, 'keys', 'not an array')
  configError(t, { keys: [null] }, 'keys[0]', 'null entry')
  configError(t, { keys: [{ ...edKey, kid: '' }] }, 'keys[0].kid', 'empty kid')
  configError(t, { keys: [{ ...edKey, kid: 7 }] }, 'keys[0].kid', 'kid not a string')
  configError(t, { keys: [edKey, { ...ecKey, kid: 'ed' }] }, 'keys[1].kid', 'duplicate kid')
  configError(t, { keys: [{ ...edKey, algorithm: 'HS256' }] }, 'keys[0].algorithm', 'HS256 key')
  configError(t, { keys: [{ ...edKey, algorithm: 'none' }] }, 'keys[0].algorithm', 'none key')
  configError(t, { keys: [{ ...edKey, publicKey: 'not a PEM' }] }, 'keys[0].publicKey', 'junk public key')
  configError(t, { keys: [{ ...edKey, publicKey: createSecretKey(Buffer.alloc(32)) }] }, 'keys[0].publicKey', 'secret KeyObject')
  configError(t, { keys: [{ ...edKey, publicKey: { kty: 'oct', k: 'AAAA' } }] }, 'keys[0].publicKey', 'symmetric JWK')
  configError(t, { keys: [{ ...edKey, publicKey: undefined }] }, 'keys[0].publicKey', 'no public key')
  configError(t, { keys: [{ ...edKey, privateKey: 'not a PEM' }] }, 'keys[0].privateKey', 'junk private key')
  configError(t, { keys: [{ ...edKey, privateKey: edPair.publicKey }] }, 'keys[0].privateKey', 'public KeyObject as private key')
  configError(t, { keys: [{ ...ecKey, privateKey: encrypted }] }, 'keys[0].privateKey', 'encrypted PEM')
  configError(t, { keys: [{ ...edKey, privateKey: edPair2.privateKey }] }, 'keys[0].privateKey', 'private key of another pair')
  configError(t, { keys: [{ ...rsaKey, privateKey: rsaPair2.privateKey }] }, 'keys[0].privateKey', 'RSA private key of another pair')
})
