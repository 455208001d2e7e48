import { Buffer, isUtf8 } from 'node:buffer'
import { InvalidTokenError } from '../errors.js'
import { TOKEN_REFUSALS } from './token-refusals.js'

/** The segments of a JWS Compact Serialization (RFC 7515 §7.1), split once. */
export interface CompactJws {
  /** `BASE64URL(header) || '.' || BASE64URL(payload)`: what the signature covers (RFC 7515 §5.2 step 8). */
  readonly signingInput: string
  readonly payload: string
  readonly signature: string
}

// RFC 7515 §2: base64url without padding; whitespace, '+', '/' or '=' mean a malformed token
const BASE64URL = /^[A-Za-z0-9_-]*$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * Whether `segment` is canonical unpadded base64url (RFC 4648 §5, RFC 7515 §2):
 * only alphabet characters, no length that leaves a lone 6-bit group, and zero
 * bits after the last whole byte. Node's decoder ignores all three; accepting
 * them would let one token be spelled several ways.
 */
export function isCanonicalBase64url (segment: string): boolean {
  if (!BASE64URL.test(segment)) return false
  const tail = segment.length % 4
  if (tail === 0) return true
  if (tail === 1) return false
  // RFC 4648 §3.5: 2 trailing characters carry 1 byte (4 spare bits), 3 carry 2 bytes (2 spare bits)
  const spareBits = tail === 2 ? 0b1111 : 0b11
  return (ALPHABET.indexOf(segment.charAt(segment.length - 1)) & spareBits) === 0
}

/**
 * Decodes a base64url segment holding a JSON object (a JOSE header or a JWT
 * claims set): canonical base64url, valid UTF-8 (RFC 7515 §5.2 steps 3 and 8)
 * and a JSON object, not an array or a scalar (RFC 7519 §7.2 step 10).
 * Returns `null` for anything else. Duplicate member names keep the last one,
 * as RFC 7519 §4 allows.
 */
export function decodeJsonObject (segment: string): Record<string, unknown> | null {
  return isCanonicalBase64url(segment) ? decodeCanonicalJsonObject(segment) : null
}

/** {@link decodeJsonObject} for a segment already known to be canonical base64url (a payload {@link splitCompactJws} returned). */
export function decodeCanonicalJsonObject (segment: string): Record<string, unknown> | null {
  const bytes = Buffer.from(segment, 'base64url')
  if (!isUtf8(bytes)) return null
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    return null
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null
}

/** The protected header of a compact JWS, decoded without verifying anything, or `null` when malformed. */
export function decodeProtectedHeader (token: string): Record<string, unknown> | null {
  const segment = protectedHeaderSegment(token)
  return segment === null ? null : decodeJsonObject(segment)
}

/** The first segment of a compact JWS, its protected header still encoded, or `null` when the token has no dot. */
export function protectedHeaderSegment (token: string): string | null {
  const end = token.indexOf('.')
  return end === -1 ? null : token.slice(0, end)
}

/**
 * Splits a compact JWS into what its verification needs: exactly three segments,
 * the payload in canonical base64url. The header is read separately
 * ({@link decodeProtectedHeader}); the signature is left to the signature check,
 * which knows its length. Returns `null` for a malformed token.
 */
export function splitCompactJws (token: string): CompactJws | null {
  const first = token.indexOf('.')
  const last = token.lastIndexOf('.')
  if (first === -1 || first === last) return null
  const payload = token.slice(first + 1, last)
  // A third dot lands in the payload segment, which the alphabet check refuses
  if (!isCanonicalBase64url(payload)) return null
  return { signingInput: token.slice(0, last), payload, signature: token.slice(last + 1) }
}

// RFC 7515 §4.1: the registered header parameters whose value is a string
const STRING_PARAMETERS = ['alg', 'typ', 'cty', 'kid', 'jku', 'x5u', 'x5t', 'x5t#S256'] as const

/**
 * Whether a protected header's registered parameters have their RFC 7515 §4.1 types:
 * `alg` a non-empty string, the other string parameters strings, `x5c` an array of
 * strings, `jwk` an object. A wrongly typed parameter makes the whole JWS invalid,
 * rather than being read as absent.
 */
export function isHeaderWellTyped (header: Record<string, unknown>): boolean {
  if (typeof header.alg !== 'string' || header.alg === '') return false
  for (const name of STRING_PARAMETERS) {
    if (header[name] !== undefined && typeof header[name] !== 'string') return false
  }
  if (header.x5c !== undefined && !(Array.isArray(header.x5c) && header.x5c.every((entry) => typeof entry === 'string'))) return false
  return header.jwk === undefined || (typeof header.jwk === 'object' && header.jwk !== null && !Array.isArray(header.jwk))
}

/**
 * Asserts that `token` is a compact JWS in its one canonical spelling (RFC 7515
 * §7.1: three canonical base64url segments, the signature possibly empty for the
 * verifier to refuse) whose protected header is a JSON object with registered
 * parameters of the right types and no `crit` (RFC 7515 §4.1.11: it names
 * extensions the verifier must understand, and this one understands none). For
 * verifiers that hand the token to a library afterwards (remote providers' JWTs);
 * throws `InvalidTokenError` with a description that never echoes the token.
 *
 * @example
 * ```ts
 * assertCompactJws(token) // throws for 'a.b', 'eyJ…=.e30.sig', a header with "crit"
 * ```
 */
export function assertCompactJws (token: string): void {
  const header = decodeProtectedHeader(token)
  const jws = splitCompactJws(token)
  if (header === null || jws === null || !isHeaderWellTyped(header) || header.crit !== undefined ||
    (jws.signature !== '' && !isCanonicalBase64url(jws.signature))) throw new InvalidTokenError(TOKEN_REFUSALS.invalid)
}
