import type { FastifyBaseLogger } from 'fastify'
import { createVerifier } from 'fast-jwt'
import { invalidTokenError } from './access-tokens.js'
import { cachedDocument, type CachedDocument } from '../util/cached-document.js'
import { AuthenticationUnavailableError, InvalidTokenError } from '../errors.js'
import { fetchJson, RemoteDocumentError } from '../util/fetch-json.js'
import { readJwks, REMOTE_ALGORITHMS, type RemoteKey } from './remote-jwks.js'
import { isSecureUrl } from '../util/secure-url.js'
import { assertCompactJws, decodeProtectedHeader } from './compact-jws.js'
import { isRecord } from '../util/is-record.js'
import { deepFreeze } from '../util/deep-freeze.js'

/** Where a provider's keys come from: its OpenID discovery document, or a JWKS URL given directly. */
export type TokenSource =
  | { readonly discovery: URL, readonly issuers: readonly string[] }
  | { readonly jwksUri: URL, readonly issuer: string, readonly algorithms: readonly string[] }

/** How tokens of a provider are checked and its documents cached. */
export interface RemoteJwtSettings {
  /** Accepted `aud` values: the token must name one. */
  readonly audience: string | readonly string[]
  /** Narrows the provider's algorithms further, when set. */
  readonly algorithms: readonly string[] | undefined
  readonly clockToleranceMs: number
  /** Budget of one fetch. */
  readonly timeoutMs: number
  /** How long discovery and keys are kept before they are fetched again. */
  readonly cacheTtlMs: number
  /** Least time between two fetches of the same document. */
  readonly cooldownMs: number
}

/** What {@link createRemoteJwtVerifier} needs. */
export interface RemoteJwtVerifierConfig extends RemoteJwtSettings {
  readonly source: TokenSource
  readonly log: FastifyBaseLogger
  /** Clock of the caches, for tests. */
  readonly now?: () => number
}

/** Verifies a provider's JWT and returns its claims, frozen; throws `InvalidTokenError` or `AuthenticationUnavailableError`. */
export type RemoteJwtVerifier = (token: string) => Promise<Readonly<Record<string, unknown>>>

interface ProviderMetadata {
  readonly issuer: string
  readonly jwksUri: URL
  readonly algorithms: ReadonlySet<string>
}

type JwtVerifier = (token: string) => Record<string, unknown>

interface KeySet {
  readonly byKid: ReadonlyMap<string, JwtVerifier>
  /** The only key, when the set has exactly one: tokens without `kid` use it. */
  readonly only: JwtVerifier | undefined
}

interface Provider {
  readonly metadata: ProviderMetadata
  readonly keys: CachedDocument<KeySet>
}

/** Provider metadata and keys are small: anything near this is not what it claims to be. */
const MAX_DOCUMENT_BYTES = 256 * 1024
// RFC 8725 §3.9, §3.10: expiry, issuer and audience must be present, not merely right when present
const REQUIRED_CLAIMS = ['exp', 'iss', 'aud']
const VERIFIED_TOKEN_CACHE = 1000

/**
 * Reads an OpenID Provider's discovery document (OpenID Connect Discovery 1.0 §3)
 * and checks it as §4.3 requires: `issuer` must be exactly an expected issuer,
 * `jwks_uri` must be https, and `id_token_signing_alg_values_supported` must
 * name at least one asymmetric algorithm also allowed here.
 */
function readDiscovery (url: URL, document: unknown, issuers: readonly string[], narrowed: readonly string[] | undefined): ProviderMetadata {
  if (!isRecord(document)) throw new RemoteDocumentError(url, 'the discovery document is not an object')
  const issuer = document.issuer
  if (typeof issuer !== 'string' || !issuers.includes(issuer)) throw new RemoteDocumentError(url, `the discovery document's issuer is not ${issuers.join(' or ')}`)
  let jwksUri: URL | undefined
  try {
    jwksUri = new URL(document.jwks_uri as string)
  } catch {}
  if (typeof document.jwks_uri !== 'string' || jwksUri === undefined || !isSecureUrl(jwksUri)) throw new RemoteDocumentError(url, 'jwks_uri is not an https URL')
  const supported = document.id_token_signing_alg_values_supported
  const algorithms = Array.isArray(supported) ? supported.filter((algorithm) => REMOTE_ALGORITHMS.has(algorithm) && (narrowed === undefined || narrowed.includes(algorithm))) : []
  if (algorithms.length === 0) throw new RemoteDocumentError(url, 'id_token_signing_alg_values_supported names no algorithm accepted here')
  return Object.freeze({ issuer, jwksUri, algorithms: new Set(algorithms) })
}

/**
 * Verifies JWTs signed by a remote provider (an OpenID Provider or an OAuth 2.0
 * authorization server) with the keys of its JWKS, under RFC 8725's rules: only
 * the provider's asymmetric algorithms, each key with its own, `exp`, `iss` and
 * `aud` required and checked. Discovery and keys are fetched on first use and
 * cached; a token naming an unknown `kid` triggers one refetch of the keys (at
 * most one per cooldown), so key rotation needs no restart. A provider that
 * cannot be reached makes verification answer 503, never a 500 or a silent pass.
 */
export function createRemoteJwtVerifier (config: RemoteJwtVerifierConfig): RemoteJwtVerifier {
  const limits = { timeoutMs: config.timeoutMs, maxBytes: MAX_DOCUMENT_BYTES }
  const timing = { maxAgeMs: config.cacheTtlMs, cooldownMs: config.cooldownMs, ...(config.now === undefined ? {} : { now: config.now }) }
  const audience = typeof config.audience === 'string' ? config.audience : [...config.audience]

  function keySetOf (keys: readonly RemoteKey[], issuer: string): KeySet {
    const verifiers = keys.map((key): [string | undefined, JwtVerifier] => [key.kid, createVerifier({
      key: key.pem,
      // RFC 8725 §3.1: this key's algorithms only, whatever the header says
      algorithms: [...key.algorithms] as never,
      requiredClaims: REQUIRED_CLAIMS,
      allowedIss: issuer,
      allowedAud: audience,
      clockTolerance: config.clockToleranceMs,
      cache: VERIFIED_TOKEN_CACHE
    })])
    return {
      byKid: new Map(verifiers.filter((entry): entry is [string, JwtVerifier] => entry[0] !== undefined)),
      only: verifiers.length === 1 ? verifiers[0]?.[1] : undefined
    }
  }

  function providerOf (metadata: ProviderMetadata): Provider {
    const keys = cachedDocument(async function loadKeys () {
      const set = readJwks(await fetchJson(metadata.jwksUri, limits), metadata.algorithms)
      if (set === null) throw new RemoteDocumentError(metadata.jwksUri, 'the document is not a JSON Web Key Set')
      return keySetOf(set, metadata.issuer)
    }, timing)
    return { metadata, keys }
  }

  let provider: Pick<CachedDocument<Provider>, 'get'>
  const { source } = config
  if ('discovery' in source) {
    // Keys expire with the discovery that named them: a reload follows a moved jwks_uri at once
    provider = cachedDocument(async function loadDiscovery () {
      return providerOf(readDiscovery(source.discovery, await fetchJson(source.discovery, limits), source.issuers, config.algorithms))
    }, timing)
  } else {
    const fixed = providerOf({ issuer: source.issuer, jwksUri: source.jwksUri, algorithms: new Set(source.algorithms) })
    provider = { get: async () => fixed }
  }

  function pick (keys: KeySet, kid: string | undefined): JwtVerifier | undefined {
    return kid === undefined ? keys.only : keys.byKid.get(kid)
  }

  async function verifierFor (token: string): Promise<JwtVerifier> {
    const { keys } = await provider.get()
    // assertCompactJws ran first: the header is a JSON object whose kid, when present, is a string
    const kid = (decodeProtectedHeader(token) as Record<string, unknown>).kid as string | undefined
    let verifier = pick(await keys.get(), kid)
    // A new kid is how providers rotate keys: fetch the set again (at most once per cooldown)
    if (verifier === undefined && kid !== undefined) verifier = pick(await keys.refresh(), kid)
    if (verifier === undefined) throw new InvalidTokenError('The access token signing key is unknown')
    return verifier
  }

  // RFC 7519 §4.1.6: iat is a NumericDate; a token issued after "now" comes from a forger or a broken clock
  function assertIssuedInPast (claims: Record<string, unknown>): void {
    const iat = claims.iat
    if (iat === undefined) return
    // The wall clock, as fast-jwt's exp and nbf checks use (config.now only times the caches)
    const now = Date.now()
    if (typeof iat !== 'number' || !Number.isFinite(iat) || iat * 1000 > now + config.clockToleranceMs) {
      throw new InvalidTokenError('The access token was issued in the future')
    }
  }

  return async function verifyRemoteJwt (token) {
    assertCompactJws(token)
    let verify: JwtVerifier
    try {
      verify = await verifierFor(token)
    } catch (error) {
      if (!(error instanceof RemoteDocumentError)) throw error
      config.log.warn({ err: error }, 'fastify-oauth2-password: the token provider is unavailable')
      throw new AuthenticationUnavailableError()
    }
    let claims: Record<string, unknown>
    try {
      claims = verify(token)
    } catch (error) {
      throw invalidTokenError(error)
    }
    assertIssuedInPast(claims)
    return deepFreeze(claims)
  }
}
