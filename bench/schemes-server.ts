import { generateKeyPairSync } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import { createSigner } from 'fast-jwt'
import oauth2Password, {
  apiKey,
  digestHa1,
  hashPassword,
  httpBasic,
  httpBearer,
  httpDigest,
  openIdConnect,
  staticApiKeys,
  type CurrentUser,
  type SecurityRequirement
} from '../lib/index.js'

// The server of `bench/schemes.ts`: one route per security scheme, all answering the
// same small body, so the difference between a route and /public is the scheme's cost.
// Announces its URL on stdout once listening (a JSON line, as the other servers); stops on SIGTERM.

// Credentials and realm come from the driver, which sends them
const BENCH_KEY = process.env.BENCH_KEY as string
const BENCH_OPAQUE = process.env.BENCH_OPAQUE as string
const BENCH_REALM = process.env.BENCH_REALM as string
const AUDIENCE = 'https://bench.invalid'
const cost = Number(process.env.BCRYPT_COST ?? 12)

/** A minimal OpenID Provider on loopback: discovery and JWKS, as the tests use. */
async function startProvider (): Promise<{ issuer: string, token: string, close: () => void }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const documents: Record<string, unknown> = {
    '/.well-known/openid-configuration': { issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['ES256'] },
    '/jwks': { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' }] }
  }
  server.on('request', function serve (request, response) {
    const document = documents[request.url ?? '']
    response.writeHead(document === undefined ? 404 : 200, { 'content-type': 'application/json' })
    response.end(JSON.stringify(document ?? {}))
  })
  const sign = createSigner({ key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), algorithm: 'ES256', kid: 'bench' })
  const token = sign({ iss: issuer, aud: AUDIENCE, sub: 'bench', scope: 'reports', exp: Math.floor(Date.now() / 1000) + 3600 })
  return { issuer, token, close: () => server.close() }
}

const provider = await startProvider()
const passwordHash = await hashPassword('secret', { cost })
const account = { id: 'johndoe', passwordHash, scopes: ['me', 'items'] }
// Whatever user type a type-checked program declares (the example's does), the benchmark's is minimal
const ha1 = digestHa1('johndoe', BENCH_REALM, 'secret', 'SHA-256')
const user = { id: 'johndoe', username: 'johndoe' } as unknown as CurrentUser

// No logger: per-request log lines would be measured too
const app = Fastify()
await app.register(oauth2Password, {
  secret: process.env.JWT_SECRET ?? 'a-benchmark-secret-of-at-least-32-bytes',
  scopes: { me: 'Read your profile', items: 'Read items' },
  bcrypt: { cost },
  users: {
    findByUsername: (username) => username === 'johndoe' ? account : null,
    findById: (id) => id === 'johndoe' ? user : null
  },
  securitySchemes: {
    ApiKey: apiKey({ in: 'header', name: 'X-API-Key', verify: staticApiKeys({ [BENCH_KEY]: { client: 'bench' } }) }),
    Basic: httpBasic(),
    Opaque: httpBearer({ verify: (token) => token === BENCH_OPAQUE ? { principal: { service: 'bench' } } : null }),
    // HA1 is stored, as an app would, not computed per request
    Digest: httpDigest({ realm: BENCH_REALM, findHa1: (username) => username === 'johndoe' ? ha1 : null }),
    OpenIdConnect: openIdConnect({ openIdConnectUrl: `${provider.issuer}/.well-known/openid-configuration`, audience: AUDIENCE })
  }
})

const routes: Record<string, SecurityRequirement[] | undefined> = {
  '/public': undefined,
  '/password': [{ OAuth2PasswordBearer: ['items'] }],
  '/api-key': [{ ApiKey: [] }],
  '/bearer': [{ Opaque: [] }],
  '/basic': [{ Basic: [] }],
  '/digest': [{ Digest: [] }],
  '/oidc': [{ OpenIdConnect: [] }],
  '/any-of': [{ ApiKey: [] }, { OAuth2PasswordBearer: ['items'] }]
}
for (const [url, security] of Object.entries(routes)) {
  app.get(url, security === undefined ? {} : { schema: { security } }, async function answer () {
    return { ok: true }
  })
}
// The provider's token, for the driver (the provider lives in this process)
app.get('/bench/oidc-token', async function oidcToken () {
  return { token: provider.token }
})
app.addHook('onClose', async function stopProvider () {
  provider.close()
})

const url = await app.listen({ port: 0, host: '127.0.0.1' })
process.stdout.write(`${JSON.stringify({ msg: `Schemes benchmark server on ${url}` })}\n`)
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async function shutDown () {
    await app.close()
    process.exit(0)
  })
}
