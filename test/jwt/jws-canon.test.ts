import { Buffer } from 'node:buffer'
import t from 'tap'
import { accessTokensWith } from '../helpers/access-tokens.js'
import { hs256Token } from '../helpers/forged-tokens.js'
import { assertCompactJws } from '../../lib/jwt/compact-jws.js'
import { createRemoteJwtVerifier, type RemoteJwtVerifierConfig } from '../../lib/jwt/remote-jwt-verifier.js'
import { providerKey, startProvider, validClaims } from '../helpers/oidc-provider.js'

// Issue 8 §4: a strict canon at the edges of the JWT format. One token, one spelling;
// header parameters of their registered types; no crit; no foreign audience.

const SECRET = 'test-secret-that-is-at-least-32-bytes-long'
const INVALID = { code: 'FST_OAUTH2_INVALID_TOKEN', statusCode: 401, message: 'The access token is invalid' }

function segment (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function forge (header: Record<string, unknown>, payload: Record<string, unknown>): string {
  return hs256Token(payload, SECRET, header)
}

function claims (extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { sub: 'alice', scope: 'me', iat: now - 10, exp: now + 600, jti: 'Wm8h3b7fQy2Jr0cX1aZk4g', ...extra }
}

// The same bytes, another spelling: a set stray bit in the last character of a segment
function respell (token: string, index: number): string {
  const segments = token.split('.')
  const value = segments[index] as string
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const last = alphabet.indexOf(value.at(-1) as string)
  segments[index] = value.slice(0, -1) + alphabet[last ^ 1]
  return segments.join('.')
}

t.test('RFC 7519 §4.1.3: a token carrying aud is refused when no audience is configured', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60 })
  t.equal(tokens.verify(forge({}, claims())).sub, 'alice')
  t.throws(() => tokens.verify(forge({}, claims({ aud: 'another-api' }))), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token audience is not accepted' })
  t.throws(() => tokens.verify(forge({}, claims({ aud: [] }))), { code: 'FST_OAUTH2_INVALID_TOKEN' })
  const scoped = accessTokensWith({ secret: SECRET, ttlSeconds: 60, audience: 'api' })
  t.equal(scoped.verify(scoped.sign('alice', ['me']).token).aud, 'api', 'a configured audience still works')
})

t.test('only canonical base64url: one token, one spelling', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60 })
  const token = forge({}, claims())
  t.equal(tokens.verify(token).sub, 'alice')
  const signature = token.split('.')[2] as string
  t.equal(signature.length % 4, 3, 'a 32-byte HMAC leaves stray bits in the last character')
  t.same(Buffer.from(respell(token, 2).split('.')[2] as string, 'base64url'), Buffer.from(signature, 'base64url'), 'the respelt signature is the same bytes')
  t.throws(() => tokens.verify(respell(token, 2)), INVALID, 'signature respelt')
  const oddPayload = forge({}, claims({ x: 'ab' }))
  for (const index of [0, 1]) {
    const value = oddPayload.split('.')[index] as string
    if (value.length % 4 !== 0) t.throws(() => assertCompactJws(respell(oddPayload, index)), INVALID, `segment ${index} respelt`)
  }
})

t.test('RFC 7515 §4.1: registered header parameters of the wrong type are refused; crit never passes', async (t) => {
  const tokens = accessTokensWith({ secret: SECRET, ttlSeconds: 60 })
  const cases: Record<string, Record<string, unknown>> = {
    'kid a number': { kid: 7 },
    'cty an object': { cty: {} },
    'jku a number': { jku: 1 },
    'x5t an array': { x5t: [] },
    'x5c a string': { x5c: 'cert' },
    'x5c of numbers': { x5c: [1] },
    'jwk a string': { jwk: 'key' },
    'alg empty': { alg: '' },
    'alg a number': { alg: 256 },
    'crit empty': { crit: [] },
    'crit naming exp': { crit: ['exp'], exp: 1 },
    'crit a string': { crit: 'b64' }
  }
  for (const [label, header] of Object.entries(cases)) t.throws(() => tokens.verify(forge(header, claims())), INVALID, label)
  t.equal(tokens.verify(forge({ kid: 'k', x5c: ['a'], jwk: {} }, claims())).sub, 'alice', 'the right types pass')
})

t.test('the structure: three segments, a JSON object header', async (t) => {
  for (const token of ['', 'a', 'a.b', 'a.b.c.d', 'a.b.c.d.e', `${segment([1])}.${segment({})}.`, `${Buffer.from('{').toString('base64url')}.e30.`]) {
    t.throws(() => assertCompactJws(token), INVALID, JSON.stringify(token))
  }
  t.doesNotThrow(() => assertCompactJws(`${segment({ alg: 'none' })}.${segment({})}.`), 'an empty signature is the verifier\'s to refuse')
})

t.test('OpenID Connect: a token with an iat in the future is refused like the plugin\'s own', async (t) => {
  const idp = await startProvider([providerKey('k1', 'ES256')])
  t.teardown(() => idp.close())
  const verify = createRemoteJwtVerifier({
    source: { discovery: new URL(idp.discoveryUrl), issuers: [idp.origin] },
    audience: 'api',
    algorithms: undefined,
    clockToleranceMs: 5000,
    timeoutMs: 1000,
    cacheTtlMs: 60_000,
    cooldownMs: 0,
    log: { warn: () => {} } as unknown as RemoteJwtVerifierConfig['log']
  })
  const now = Math.floor(Date.now() / 1000)
  t.equal((await verify(idp.sign(validClaims(idp, 'api')))).sub, 'user-1')
  t.equal((await verify(idp.sign(validClaims(idp, 'api', { iat: now + 2 })))).sub, 'user-1', 'within the clock tolerance')
  await t.rejects(verify(idp.sign(validClaims(idp, 'api', { iat: now + 3600 }))), { code: 'FST_OAUTH2_INVALID_TOKEN', message: 'The access token was issued in the future' })
  await t.rejects(verify(idp.sign(validClaims(idp, 'api', { iat: 'yesterday' }))), { code: 'FST_OAUTH2_INVALID_TOKEN' })
  const noIat = validClaims(idp, 'api')
  delete noIat.iat
  const withoutIat = idp.sign(noIat, { noTimestamp: true })
  t.notOk('iat' in JSON.parse(Buffer.from(withoutIat.split('.')[1] as string, 'base64url').toString()), 'signed without iat')
  t.equal((await verify(withoutIat)).sub, 'user-1', 'iat is optional in RFC 7519')
  await t.rejects(verify(respell(idp.sign(validClaims(idp, 'api')), 2)), { code: 'FST_OAUTH2_INVALID_TOKEN' }, 'one spelling for remote tokens too')
})
