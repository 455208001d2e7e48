import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createSigner, type Algorithm } from 'fast-jwt'

/** A signing key of the test provider. */
export interface ProviderKey {
  kid: string
  alg: Algorithm
  privateKey: KeyObject
  publicKey: KeyObject
  /** Extra JWK members to publish (`use`, `alg`…), or `null` to publish none. */
  publish?: Record<string, unknown>
}

/** What a route of the provider answers instead of its document. */
export type Fault = 'status-500' | 'not-json' | 'too-large' | 'hang' | 'redirect'

/** A small OpenID Provider on 127.0.0.1, for tests: discovery, JWKS, and a signer. */
export interface TestProvider {
  /** `http://127.0.0.1:<port>` (the issuer by default). */
  readonly origin: string
  readonly discoveryUrl: string
  readonly jwksUrl: string
  /** Keys published in the JWKS, in order; change it to rotate. */
  keys: ProviderKey[]
  /** The discovery document served; change fields to test checks. */
  discovery: Record<string, unknown>
  /** JWKS document served, when set, instead of the one built from `keys`. */
  jwksOverride: unknown
  /** Faults by path. */
  faults: Map<string, Fault>
  /** Requests by path. */
  readonly hits: Map<string, number>
  /** Signs claims with one of the keys (the first by default); `noTimestamp` leaves `iat` out unless the claims have it. */
  sign (claims: Record<string, unknown>, options?: { key?: ProviderKey, header?: Record<string, unknown>, noKid?: boolean, noTimestamp?: boolean }): string
  close (): Promise<void>
}

// Key generation (RSA above all) is the slow part of these tests: pairs are shared by kid and algorithm
const pairs = new Map<string, { privateKey: KeyObject, publicKey: KeyObject }>()

/** A key pair for the provider; `fresh` makes a new one instead of the shared one of that kid and algorithm. */
export function providerKey (kid: string, alg: Algorithm, publish?: Record<string, unknown>, fresh = false): ProviderKey {
  const id = `${kid}:${alg}`
  const pair = (fresh ? undefined : pairs.get(id)) ?? generatePair(alg)
  if (!fresh) pairs.set(id, pair)
  return { kid, alg, privateKey: pair.privateKey, publicKey: pair.publicKey, ...(publish === undefined ? {} : { publish }) }
}

function generatePair (alg: Algorithm): { privateKey: KeyObject, publicKey: KeyObject } {
  return alg.startsWith('RS') || alg.startsWith('PS')
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : alg === 'ES256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : alg === 'ES384'
        ? generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
        : generateKeyPairSync('ed25519')
}

function send (response: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers })
  response.end(body)
}

/** Starts a provider; close it in teardown. */
export async function startProvider (keys: ProviderKey[] = [providerKey('k1', 'RS256')]): Promise<TestProvider> {
  const server = createServer()
  const sockets = new Set<import('node:net').Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider: TestProvider = {
    origin,
    discoveryUrl: `${origin}/.well-known/openid-configuration`,
    jwksUrl: `${origin}/jwks`,
    keys,
    discovery: {
      issuer: origin,
      jwks_uri: `${origin}/jwks`,
      authorization_endpoint: `${origin}/authorize`,
      token_endpoint: `${origin}/token`,
      id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA', 'PS256', 'ES384']
    },
    jwksOverride: undefined,
    faults: new Map(),
    hits: new Map(),
    sign (claims, options = {}) {
      const key = options.key ?? provider.keys[0] as ProviderKey
      const signer = createSigner({
        key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        algorithm: key.alg,
        header: { alg: key.alg, typ: 'JWT', ...(options.noKid === true ? {} : { kid: key.kid }), ...options.header },
        noTimestamp: options.noTimestamp === true
      })
      return signer(claims)
    },
    async close () {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }

  function jwks (): unknown {
    if (provider.jwksOverride !== undefined) return provider.jwksOverride
    return {
      keys: provider.keys.map((key) => ({
        ...key.publicKey.export({ format: 'jwk' }),
        kid: key.kid,
        ...(key.publish ?? { use: 'sig', alg: key.alg })
      }))
    }
  }

  server.on('request', function serve (request: IncomingMessage, response: ServerResponse) {
    const path = new URL(request.url ?? '/', origin).pathname
    provider.hits.set(path, (provider.hits.get(path) ?? 0) + 1)
    const fault = provider.faults.get(path)
    if (fault === 'hang') return
    if (fault === 'status-500') return send(response, 500, '{}')
    if (fault === 'not-json') return send(response, 200, '<html>')
    if (fault === 'too-large') return send(response, 200, JSON.stringify({ pad: 'x'.repeat(300 * 1024) }))
    if (fault === 'redirect') return send(response, 302, '', { location: `${origin}/elsewhere` })
    if (path === '/.well-known/openid-configuration') return send(response, 200, JSON.stringify(provider.discovery))
    if (path === '/jwks') return send(response, 200, JSON.stringify(jwks()))
    send(response, 404, '{}')
  })
  return provider
}

/** Claims of a valid token for `audience` from `provider`, expiring in an hour. */
export function validClaims (provider: TestProvider, audience: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return { iss: provider.origin, aud: audience, sub: 'user-1', iat: now, exp: now + 3600, ...extra }
}
