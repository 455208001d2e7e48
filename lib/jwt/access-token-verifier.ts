import { InvalidTokenError } from '../errors.js'
import { assertAccessTokenClaims, type AccessTokenClaims } from './access-token-claims.js'
import { decodeCanonicalJsonObject, decodeJsonObject, isCanonicalBase64url, isHeaderWellTyped, protectedHeaderSegment, splitCompactJws } from './compact-jws.js'
import { hmacSignatureCheck, publicKeySignatureCheck, type SignatureCheck } from './jws-signature.js'
import type { KeyMaterial } from './signing-keys.js'
import { TOKEN_REFUSALS } from './token-refusals.js'
import { BoundedMap } from '../util/bounded-map.js'
import { deepFreeze } from '../util/deep-freeze.js'

/** What a verified access token must satisfy besides its signature. */
export interface VerificationPolicy {
  readonly material: KeyMaterial
  readonly issuer: string | undefined
  readonly audience: readonly string[] | string | undefined
  readonly clockToleranceMs: number
}

/** Verifies a compact JWS access token at `nowMs` and returns its claims; throws `InvalidTokenError`. */
export type AccessTokenVerifier = (token: string, nowMs: number) => AccessTokenClaims

/** How the key of a token is found: its signature checks by `alg`, picked from its header. */
type KeySelection = (header: Readonly<Record<string, unknown>>) => ReadonlyMap<unknown, SignatureCheck>

/** The protected header of a token, decoded and checked for its parameters' types; refuses a malformed one. */
type HeaderReader = (token: string) => Readonly<Record<string, unknown>>

// RFC 9068 §2.2: exp, iat, jti and sub are REQUIRED (iss and aud too once configured); scope is what the plugin authorizes with
const REQUIRED_CLAIMS = ['exp', 'iat', 'sub', 'jti', 'scope']

// RFC 9068 §2.1: typ is "at+jwt"; RFC 7515 §4.1.9: media types are case-insensitive and "application/" may be written
const ACCESS_TOKEN_TYP = 'at+jwt'
const APPLICATION_PREFIX = /^application\//

function refuse (description: string): never {
  throw new InvalidTokenError(description)
}

function keySelection (material: KeyMaterial): KeySelection {
  if (material.kind === 'secret') {
    // RFC 8725 §3.1: only the listed algorithms, whatever the header claims; the key is imported once
    const checks = new Map<unknown, SignatureCheck>(material.algorithms.map((algorithm) => [algorithm, hmacSignatureCheck(algorithm, material.secret)]))
    return () => checks
  }
  // RFC 8725 §3.1: each key verifies with its one algorithm, so a header cannot pair a key with another algorithm
  const byKid = new Map<unknown, ReadonlyMap<unknown, SignatureCheck>>(material.keys.map((key) => [key.kid, new Map([[key.algorithm, publicKeySignatureCheck(key.algorithm, key.publicKey)]])]))
  return (header) => byKid.get(header.kid) ?? refuse(TOKEN_REFUSALS.unknownKey)
}

// Every token one key signs carries the same header: a few distinct ones in use, whatever the number of tokens
const HEADER_CACHE_SIZE = 64

/**
 * Reads protected headers, each distinct header segment decoded once: a token's
 * first verification then costs no base64url decoding or JSON parse of its
 * header. Only well-typed headers are remembered (frozen, as they are shared), so
 * a malformed one is refused every time, and distinct headers sent in a flood
 * only take turns in a small map.
 */
function headerReader (): HeaderReader {
  const known = new BoundedMap<string, Readonly<Record<string, unknown>>>(HEADER_CACHE_SIZE)
  return function readHeader (token) {
    const segment = protectedHeaderSegment(token) ?? refuse(TOKEN_REFUSALS.invalid)
    let header = known.get(segment)
    if (header === undefined) {
      const decoded = decodeJsonObject(segment)
      // RFC 7515 §4.1: a registered parameter of the wrong type makes the JWS invalid, not absent
      if (decoded === null || !isHeaderWellTyped(decoded)) refuse(TOKEN_REFUSALS.invalid)
      header = deepFreeze(decoded)
      known.set(segment, header)
    }
    return header
  }
}

function isAccessTokenType (typ: unknown): boolean {
  return typ === ACCESS_TOKEN_TYP || (typeof typ === 'string' && typ.toLowerCase().replace(APPLICATION_PREFIX, '') === ACCESS_TOKEN_TYP)
}

/** RFC 7515 §5.2: the signature first, then what the header asks of the recipient; returns the payload segment, canonical base64url (the split checked it). */
function assertSigned (token: string, readHeader: HeaderReader, keys: KeySelection): string {
  const header = readHeader(token)
  const jws = splitCompactJws(token) ?? refuse(TOKEN_REFUSALS.invalid)
  // One token, one spelling: a signature in another base64url spelling is malformed, not merely wrong
  if (jws.signature !== '' && !isCanonicalBase64url(jws.signature)) refuse(TOKEN_REFUSALS.invalid)
  const checks = keys(header)
  // RFC 8725 §2.1: an unsigned token is refused before its algorithm is even considered
  if (jws.signature === '') refuse(TOKEN_REFUSALS.signature)
  const check = checks.get(header.alg) ?? refuse(TOKEN_REFUSALS.algorithm)
  if (!check(jws.signingInput, jws.signature)) refuse(TOKEN_REFUSALS.signature)
  // RFC 7515 §4.1.11: no extension is understood here, so any crit makes the JWS invalid
  if (header.crit !== undefined) refuse(TOKEN_REFUSALS.invalid)
  if (!isAccessTokenType(header.typ)) refuse(TOKEN_REFUSALS.type)
  return jws.payload
}

// RFC 7519 §4.1.4, §4.1.5: exp and nbf are NumericDates, compared with the clock tolerance
function assertTimeWindow (claims: Record<string, unknown>, nowMs: number, toleranceMs: number): void {
  const { nbf, exp } = claims
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') refuse(TOKEN_REFUSALS.claims)
    if (nowMs < nbf * 1000 - toleranceMs) refuse(TOKEN_REFUSALS.notYetValid)
  }
  if (typeof exp !== 'number') refuse(TOKEN_REFUSALS.claims)
  if (nowMs > exp * 1000 + toleranceMs) refuse(TOKEN_REFUSALS.expired)
}

// RFC 7519 §4.1.3: aud is a string or an array of strings; RFC 8725 §3.9: one of them must be ours
function assertAudience (aud: unknown, accepted: readonly string[] | string): void {
  const values: readonly unknown[] = Array.isArray(aud) ? aud : [aud]
  if (!values.every((value) => typeof value === 'string')) refuse(TOKEN_REFUSALS.claims)
  if (!values.some((value) => typeof accepted === 'string' ? value === accepted : accepted.includes(value as string))) refuse(TOKEN_REFUSALS.issuerOrAudience)
}

// RFC 7519 §4.1.1: iss is one StringOrURI; RFC 8725 §3.8: it must be the configured issuer
function assertIssuer (iss: unknown, issuer: string): void {
  if (Array.isArray(iss)) refuse(TOKEN_REFUSALS.issuerOrAudience)
  if (typeof iss !== 'string') refuse(TOKEN_REFUSALS.claims)
  if (iss !== issuer) refuse(TOKEN_REFUSALS.issuerOrAudience)
}

/**
 * Creates the access-token verifier: one pass over a compact JWS (split once,
 * each segment decoded once, canonical base64url only, one `JSON.parse` per
 * segment), the signature checked with keys imported at startup, then the
 * claims as RFC 7519, RFC 8725 and RFC 9068 require: algorithm allow-list
 * (`none` never, one algorithm per key), `typ: at+jwt`, no `crit`, required and
 * typed claims, `exp`/`nbf`/`iat` with the clock tolerance, `iss` and `aud` when
 * configured. The payload is parsed only once the signature holds.
 *
 * @example
 * ```ts
 * const verify = createAccessTokenVerifier({ material, issuer: undefined, audience: undefined, clockToleranceMs: 0 })
 * verify(token, Date.now()).sub
 * ```
 */
export function createAccessTokenVerifier (policy: VerificationPolicy): AccessTokenVerifier {
  const { issuer, audience, clockToleranceMs } = policy
  const keys = keySelection(policy.material)
  const readHeader = headerReader()
  // RFC 8725 §3.8, §3.9: iss and aud must be present, not merely right when present
  const required = [...REQUIRED_CLAIMS, ...(issuer === undefined ? [] : ['iss']), ...(audience === undefined ? [] : ['aud'])]

  return function verifyAccessToken (token, nowMs) {
    const claims = decodeCanonicalJsonObject(assertSigned(token, readHeader, keys)) ?? refuse(TOKEN_REFUSALS.invalid)
    for (const name of required) {
      if (claims[name] === undefined) refuse(TOKEN_REFUSALS.claims)
    }
    // RFC 7519 §4.1.3: a token naming an audience is refused by a processor that is not one of them
    if (audience === undefined && claims.aud !== undefined) refuse(TOKEN_REFUSALS.audience)
    assertTimeWindow(claims, nowMs, clockToleranceMs)
    if (audience !== undefined) assertAudience(claims.aud, audience)
    if (issuer !== undefined) assertIssuer(claims.iss, issuer)
    assertAccessTokenClaims(claims, nowMs, clockToleranceMs)
    return claims
  }
}
