import { Buffer } from 'node:buffer'
import { generateKeyPairSync } from 'node:crypto'
import t, { type Test } from 'tap'
import { accessTokensWith } from '../helpers/access-tokens.js'
import { hs256Token } from '../helpers/forged-tokens.js'
import { createAccessTokenVerifier, type AccessTokenVerifier, type VerificationPolicy } from '../../lib/jwt/access-token-verifier.js'
import { resolveSigningKeys } from '../../lib/jwt/signing-keys.js'

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long'
const TTL = 1800
const NOW_MS = 1_750_000_000_000
const NOW = NOW_MS / 1000
const JTI = /^[A-Za-z0-9_-]{22}$/

function decodeSegment (token: string, index: number): unknown {
  return JSON.parse(Buffer.from(token.split('.')[index] as string, 'base64url').toString('utf8'))
}

// One interception per test, moved by set(), so teardown restores the real clock
function fakeClock (t: Test, ms: number): { set: (ms: number) => void } {
  let now = ms
  t.intercept(Date, 'now', { value: () => now })
  return { set (ms) { now = ms } }
}

t.test('round trip: sign then verify returns every claim', async (t) => {
  fakeClock(t, NOW_MS)
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  const { token, expiresIn, claims } = tokens.sign('johndoe', ['me', 'items'])

  t.equal(token.split('.').length, 3)
  t.same(decodeSegment(token, 0), { alg: 'HS256', typ: 'at+jwt' }, 'RFC 9068 §2.1 header, no kid for a shared secret')
  t.equal(expiresIn, TTL)
  t.match(claims, { sub: 'johndoe', scope: 'me items', iat: NOW, exp: NOW + TTL, jti: JTI })
  t.same(Object.keys(claims).sort(), ['exp', 'iat', 'jti', 'scope', 'sub'], 'no iss, aud or client_id unless configured or given')
  t.same(decodeSegment(token, 1), claims, 'the token carries exactly the returned claims')

  const verified = tokens.verify(token)
  t.same(verified, claims)
  t.ok(Object.isFrozen(verified), 'verified claims are frozen')
  t.equal(tokens.jwks, null, 'no JWKS for a shared secret')
})

t.test('jti is random, 128 bits, base64url', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  const jtis = new Set(Array.from({ length: 50 }, () => tokens.sign('u', []).claims.jti))
  t.equal(jtis.size, 50)
  for (const jti of jtis) t.match(jti, JTI)
})

t.test('scope is space-delimited; no scopes gives an empty scope', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  t.equal(tokens.verify(tokens.sign('u', []).token).scope, '')
  t.equal(tokens.verify(tokens.sign('u', ['a:read', 'b']).token).scope, 'a:read b')
})

t.test('iss and aud are set when configured, and checked', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL, issuer: 'https://auth.example', audience: 'https://api.example' })
  const { token, claims } = tokens.sign('u', ['me'])
  t.equal(claims.iss, 'https://auth.example')
  t.equal(claims.aud, 'https://api.example')
  t.same(tokens.verify(token), claims)

  const many = accessTokensWith({ secret: SECRET, ttlSeconds: TTL, audience: ['https://a.example', 'https://b.example'] })
  const signed = many.sign('u', [])
  t.same(signed.claims.aud, ['https://a.example', 'https://b.example'])
  t.same(many.verify(signed.token).aud, ['https://a.example', 'https://b.example'])

  const onlyB = accessTokensWith({ secret: SECRET, ttlSeconds: TTL, audience: 'https://b.example' })
  t.equal(onlyB.verify(signed.token).sub, 'u', 'one matching audience is enough')
})

t.test('client_id and extra claims', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  const { token, claims } = tokens.sign('u', ['me'], { clientId: 'swagger-ui', claims: { tenant: 't1', roles: ['admin'], profile: { name: 'J' }, note: null } })
  t.equal(claims.client_id, 'swagger-ui')
  const verified = tokens.verify(token)
  t.match(verified, { client_id: 'swagger-ui', tenant: 't1', roles: ['admin'], profile: { name: 'J' }, note: null })
  t.ok(Object.isFrozen(verified.roles), 'nested values are frozen too')
  t.ok(Object.isFrozen(verified.profile))
})

t.test('sign refuses bad arguments', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  const invalid = { code: 'FST_OAUTH2_INVALID_OPTION' }
  t.throws(() => tokens.sign('', []), { ...invalid, message: /subject/ })
  t.throws(() => tokens.sign(42 as unknown as string, []), { ...invalid, message: /subject/ })
  t.throws(() => tokens.sign('u', 'me' as unknown as string[]), { ...invalid, message: /scopes/ })
  t.throws(() => tokens.sign('u', ['me items']), { ...invalid, message: /scopes/ }, 'a space would smuggle a second scope')
  t.throws(() => tokens.sign('u', [7 as unknown as string]), { ...invalid, message: /scopes/ })
  t.throws(() => tokens.sign('u', [], { clientId: '' }), { ...invalid, message: /clientId/ })
  t.throws(() => tokens.sign('u', [], { claims: [] as unknown as Record<string, unknown> }), { ...invalid, message: /claims/ })
  for (const reserved of ['sub', 'scope', 'exp', 'iat', 'nbf', 'jti', 'iss', 'aud', 'client_id']) {
    t.throws(() => tokens.sign('u', [], { claims: { [reserved]: 'x' } }), { ...invalid, message: /reserved claim/ }, reserved)
  }
})

t.test('TTL: a token is valid until its exp, then expired', async (t) => {
  const clock = fakeClock(t, NOW_MS)
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60, cacheSize: 0 })
  const { token, claims } = tokens.sign('u', [])
  t.equal(claims.exp, NOW + 60)
  clock.set((NOW + 60) * 1000)
  t.equal(tokens.verify(token).sub, 'u', 'still valid at exp')
  clock.set((NOW + 60) * 1000 + 1)
  t.throws(() => tokens.verify(token), { code: 'FST_OAUTH2_INVALID_TOKEN', statusCode: 401, message: 'The access token expired' })
})

t.test('the verified-token cache answers repeats and still expires at exp', async (t) => {
  const clock = fakeClock(t, NOW_MS)
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60 })
  const { token } = tokens.sign('u', [])
  const first = tokens.verify(token)
  t.equal(tokens.verify(token), first, 'a repeat is served from the cache (same frozen object)')
  clock.set((NOW + 60) * 1000)
  t.equal(tokens.verify(token), first, 'still cached at exp')
  clock.set((NOW + 60) * 1000 + 1)
  t.throws(() => tokens.verify(token), { message: 'The access token expired' }, 'a cached token expires at its exp')
})

t.test('a cached token\'s signature under another header or payload is refused, not served from the cache', async (t) => {
  // The cache finds entries by the signature's last characters: these find the cached token's entry, and must not get its claims
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60 })
  const { token } = tokens.sign('u', ['me'])
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const [otherHeader, otherPayload] = tokens.sign('admin', ['me', 'admin']).token.split('.') as [string, string]
  const cached = tokens.verify(token)
  const altered = { header: Buffer.from('{"typ":"at+jwt","alg":"HS256"}').toString('base64url'), payload: otherPayload }
  t.not(altered.header, otherHeader, 'another spelling of the header')
  for (const forged of [`${header}.${altered.payload}.${signature}`, `${altered.header}.${payload}.${signature}`]) {
    t.throws(() => tokens.verify(forged), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token signature is invalid' })
  }
  t.equal(tokens.verify(token), cached, 'the cached token is still served')
})

// The access-token module with each verification (signature and claims) counted
async function countingVerifications (t: Test): Promise<{ createAccessTokens: typeof import('../../lib/jwt/access-tokens.js').createAccessTokens, verifications: () => number }> {
  let verifications = 0
  const { createAccessTokens } = await t.mockImport<typeof import('../../lib/jwt/access-tokens.js')>('../../lib/jwt/access-tokens.js', {
    '../../lib/jwt/access-token-verifier.js': {
      createAccessTokenVerifier (policy: VerificationPolicy): AccessTokenVerifier {
        const verify = createAccessTokenVerifier(policy)
        return (token, nowMs) => { verifications++; return verify(token, nowMs) }
      }
    }
  })
  return { createAccessTokens, verifications: () => verifications }
}

t.test('a token is cached as verified when it is signed: its first use costs no verification', async (t) => {
  const { createAccessTokens, verifications } = await countingVerifications(t)
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const materials = {
    'a shared secret': resolveSigningKeys(SECRET, undefined, undefined),
    'asymmetric keys': resolveSigningKeys(undefined, [{ kid: 'k1', algorithm: 'EdDSA', privateKey, publicKey }], undefined)
  }
  for (const [name, keyMaterial] of Object.entries(materials)) {
    const tokens = createAccessTokens({ keyMaterial, ttlSeconds: 60 })
    const before = verifications()
    const { token, claims } = tokens.sign('u', ['me'], { claims: { name: 'U' } })
    t.equal(verifications(), before + 1, `${name}: verified once, when signed`)
    const verified = tokens.verify(token)
    t.same(verified, claims, `${name}: the claims the token carries`)
    t.ok(Object.isFrozen(verified), `${name}: frozen, as verified claims are`)
    t.equal(verifications(), before + 1, `${name}: its first use is a cache hit`)
    t.throws(() => tokens.verify(`${token.slice(0, -1)}${token.endsWith('A') ? 'Q' : 'A'}`), { message: 'The access token signature is invalid' }, `${name}: another signature is still checked`)
  }
})

t.test('a token is not cached when signed if the cache is off, or if it is too long to be accepted', async (t) => {
  const { createAccessTokens, verifications } = await countingVerifications(t)
  const uncached = createAccessTokens({ keyMaterial: resolveSigningKeys(SECRET, undefined, undefined), ttlSeconds: 60, cacheSize: 0 })
  const { token } = uncached.sign('u', [])
  t.equal(verifications(), 0, 'cacheSize 0: not verified when signed')
  t.equal(uncached.verify(token).sub, 'u')
  t.equal(verifications(), 1, 'cacheSize 0: verified when used')

  const tokens = createAccessTokens({ keyMaterial: resolveSigningKeys(SECRET, undefined, undefined), ttlSeconds: 60 })
  const long = tokens.sign('u', [], { claims: { padding: 'x'.repeat(8192) } })
  t.equal(verifications(), 1, 'a token over 8 KiB is returned, not verified')
  t.throws(() => tokens.verify(long.token), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token is invalid' }, 'and refused when used, as before')
})

t.test('a cached token is refused before its iat, as the verifier refuses it (a clock stepped back)', async (t) => {
  const { createAccessTokens, verifications } = await countingVerifications(t)
  for (const cacheSize of [0, 100]) {
    const clock = fakeClock(t, NOW_MS)
    const tokens = createAccessTokens({ keyMaterial: resolveSigningKeys(SECRET, undefined, undefined), ttlSeconds: 60, clockToleranceSeconds: 5, cacheSize })
    const { token } = tokens.sign('u', [])
    t.equal(tokens.verify(token).sub, 'u')
    const before = verifications()
    clock.set(NOW_MS - 5000)
    t.equal(tokens.verify(token).sub, 'u', `cacheSize ${cacheSize}: iat within the clock tolerance`)
    if (cacheSize > 0) t.equal(verifications(), before, 'served from the cache up to the tolerance')
    clock.set(NOW_MS - 5001)
    t.throws(() => tokens.verify(token), { message: 'The access token was issued in the future' }, `cacheSize ${cacheSize}: beyond it`)
    clock.set(NOW_MS)
    t.equal(tokens.verify(token).sub, 'u', `cacheSize ${cacheSize}: valid again once the clock is back`)
  }
})

t.test('sign reads the clock once: a clock stepping back while it signs does not refuse the token it issues', async (t) => {
  const { createAccessTokens, verifications } = await countingVerifications(t)
  // A whole second, then a millisecond earlier for every later reading
  let readings = 0
  t.intercept(Date, 'now', { value: () => readings++ === 0 ? NOW_MS : NOW_MS - 1 })
  const tokens = createAccessTokens({ keyMaterial: resolveSigningKeys(SECRET, undefined, undefined), ttlSeconds: 60 })
  const { token, claims } = tokens.sign('u', [])
  t.equal(claims.iat, NOW)
  t.equal(verifications(), 1, 'verified into the cache at the instant of its iat')
  t.throws(() => tokens.verify(token), { message: 'The access token was issued in the future' }, 'a millisecond before its iat, refused as the verifier refuses it')
})

t.test('a cached token is refused before its nbf, as the verifier refuses it', async (t) => {
  const { createAccessTokens, verifications } = await countingVerifications(t)
  for (const cacheSize of [0, 100]) {
    const clock = fakeClock(t, (NOW + 30) * 1000)
    const tokens = createAccessTokens({ keyMaterial: resolveSigningKeys(SECRET, undefined, undefined), ttlSeconds: 60, clockToleranceSeconds: 5, cacheSize })
    const token = hs256Token({ sub: 'u', scope: '', iat: NOW, nbf: NOW + 30, exp: NOW + 60, jti: 'jti' }, SECRET)
    t.equal(tokens.verify(token).sub, 'u', `cacheSize ${cacheSize}: valid from its nbf`)
    const before = verifications()
    clock.set((NOW + 25) * 1000)
    t.equal(tokens.verify(token).sub, 'u', `cacheSize ${cacheSize}: and within the clock tolerance before it`)
    if (cacheSize > 0) t.equal(verifications(), before, 'served from the cache up to the tolerance')
    clock.set((NOW + 25) * 1000 - 1)
    t.throws(() => tokens.verify(token), { message: 'The access token is not valid yet' }, `cacheSize ${cacheSize}: not before`)
  }
})

t.test('cacheSize 0 disables the cache', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60, cacheSize: 0 })
  const { token } = tokens.sign('u', [])
  const first = tokens.verify(token)
  const second = tokens.verify(token)
  t.not(second, first)
  t.same(second, first)
})

t.test('clock tolerance forgives a little skew on exp, and no more', async (t) => {
  const clock = fakeClock(t, NOW_MS)
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60, clockToleranceSeconds: 5 })
  const { token } = tokens.sign('u', [])
  clock.set((NOW + 65) * 1000)
  t.equal(tokens.verify(token).sub, 'u')
  clock.set((NOW + 65) * 1000 + 1)
  t.throws(() => tokens.verify(token), { message: 'The access token expired' })
})

t.test('a secret may be a Buffer, and HS384/HS512 may be listed (the first signs)', async (t) => {
  const hs512 = accessTokensWith({ secret: Buffer.alloc(64, 7), algorithms: ['HS512', 'HS256'], ttlSeconds: TTL })
  const { token } = hs512.sign('u', [])
  t.same(decodeSegment(token, 0), { alg: 'HS512', typ: 'at+jwt' })
  t.equal(hs512.verify(token).sub, 'u')

  const hs256 = accessTokensWith({ secret: Buffer.alloc(64, 7), ttlSeconds: TTL })
  t.equal(accessTokensWith({ secret: Buffer.alloc(64, 7), algorithms: ['HS256', 'HS512'], ttlSeconds: TTL }).verify(hs256.sign('u', []).token).sub, 'u')
})

t.test('verify refuses non-string input', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: TTL })
  t.throws(() => tokens.verify(undefined as unknown as string), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token is invalid' })
  t.throws(() => tokens.verify(Buffer.from('x') as unknown as string), { code: 'FST_OAUTH2_INVALID_TOKEN' })
})
