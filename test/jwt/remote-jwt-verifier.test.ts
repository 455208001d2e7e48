import t from 'tap'
import { createRemoteJwtVerifier, type RemoteJwtVerifierConfig } from '../../lib/jwt/remote-jwt-verifier.js'
import { providerKey, startProvider, validClaims } from '../helpers/oidc-provider.js'

function logger (warnings: unknown[]) {
  const noop = () => {}
  return { warn: (...args: unknown[]) => warnings.push(args), info: noop, error: noop, debug: noop, fatal: noop, trace: noop, silent: noop, child: () => logger(warnings), level: 'warn' } as unknown as RemoteJwtVerifierConfig['log']
}

t.test('discovery and keys are fetched again after cacheTtl, following a moved jwks_uri', async (t) => {
  const idp = await startProvider([providerKey('k1', 'ES256')])
  t.teardown(() => idp.close())
  let now = 0
  const verify = createRemoteJwtVerifier({
    source: { discovery: new URL(idp.discoveryUrl), issuers: [idp.origin] },
    audience: 'api',
    algorithms: undefined,
    clockToleranceMs: 0,
    timeoutMs: 1000,
    cacheTtlMs: 1000,
    cooldownMs: 0,
    log: logger([]),
    now: () => now
  })
  const token = idp.sign(validClaims(idp, 'api'))
  t.equal((await verify(token)).sub, 'user-1')
  now = 999
  t.equal((await verify(token)).sub, 'user-1')
  t.equal(idp.hits.get('/.well-known/openid-configuration'), 1)
  t.equal(idp.hits.get('/jwks'), 1)

  idp.discovery.jwks_uri = `${idp.origin}/moved-jwks`
  now = 1000
  await t.rejects(verify(token), { code: 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE' }, 'the moved URL is followed (and answers 404 here)')
  t.equal(idp.hits.get('/.well-known/openid-configuration'), 2)
  t.equal(idp.hits.get('/moved-jwks'), 1)

  idp.discovery.jwks_uri = idp.jwksUrl
  now = 2000
  t.equal((await verify(token)).sub, 'user-1')
  t.equal(idp.hits.get('/jwks'), 2)
})

t.test('an unreachable provider is logged (with the reason, never a token) and answered 503', async (t) => {
  const idp = await startProvider([providerKey('k1', 'ES256')])
  t.teardown(() => idp.close())
  idp.faults.set('/jwks', 'status-500')
  const warnings: unknown[] = []
  const verify = createRemoteJwtVerifier({
    source: { jwksUri: new URL(idp.jwksUrl), issuer: idp.origin, algorithms: ['ES256'] },
    audience: ['api'],
    algorithms: undefined,
    clockToleranceMs: 0,
    timeoutMs: 1000,
    cacheTtlMs: 1000,
    cooldownMs: 0,
    log: logger(warnings)
  })
  const token = idp.sign(validClaims(idp, 'api'))
  await t.rejects(verify(token), { code: 'FST_OAUTH2_AUTHENTICATION_UNAVAILABLE', statusCode: 503 })
  t.equal(warnings.length, 1)
  const [[context, message]] = warnings as Array<[{ err: Error }, string]>
  t.equal(message, 'fastify-oauth2-password: the token provider is unavailable')
  t.equal(context.err.message, `${idp.jwksUrl}: answered 500`)
  t.notMatch(JSON.stringify(warnings), token.split('.')[1] as string)
})
