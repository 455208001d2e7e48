import { Buffer } from 'node:buffer'
import { InvalidTokenError } from '../errors.js'
import { isRecord } from '../util/is-record.js'

// RFC 7515 §2: base64url without padding; whitespace, '+', '/' or '=' mean a malformed token
const BASE64URL = /^[A-Za-z0-9_-]+$/
const MALFORMED = 'The access token is invalid'

// RFC 7515 §4.1: the registered header parameters whose value is a string
const STRING_PARAMETERS = ['alg', 'typ', 'cty', 'kid', 'jku', 'x5u', 'x5t', 'x5t#S256'] as const

/**
 * Whether `segment` is the one base64url spelling of its bytes: unpadded, and no
 * stray bits in its last character (RFC 4648 §3.5: they must be zero). Without this,
 * `…Q` and `…R` could decode to the same signature, giving one token several spellings.
 */
function isCanonicalBase64url (segment: string): boolean {
  return BASE64URL.test(segment) && Buffer.from(segment, 'base64url').toString('base64url') === segment
}

// An empty signature is left to the verifier, which answers it as a signature failure
function isCanonicalSignature (segment: string): boolean {
  return segment === '' || isCanonicalBase64url(segment)
}

function isHeaderWellTyped (header: Record<string, unknown>): boolean {
  if (typeof header.alg !== 'string' || header.alg === '') return false
  for (const name of STRING_PARAMETERS) {
    if (header[name] !== undefined && typeof header[name] !== 'string') return false
  }
  if (header.x5c !== undefined && !(Array.isArray(header.x5c) && header.x5c.every((entry) => typeof entry === 'string'))) return false
  return header.jwk === undefined || isRecord(header.jwk)
}

function decodeHeader (segment: string): Record<string, unknown> {
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    if (isRecord(header)) return header
  } catch {}
  throw new InvalidTokenError(MALFORMED)
}

/**
 * Asserts that `token` is a compact JWS in its one canonical spelling (RFC 7515
 * §7.1: three canonical base64url segments, the signature possibly empty for the
 * verifier to refuse) whose protected header is a JSON
 * object with registered parameters of the right types. `crit` is refused: it
 * names extensions the verifier must understand (RFC 7515 §4.1.11), and this one
 * understands none. Runs before any key is picked or signature checked; throws
 * `InvalidTokenError` with a description that never echoes the token.
 *
 * @example
 * ```ts
 * assertCompactJws(token) // throws for 'a.b', 'eyJ…=.e30.sig', a header with "crit"
 * ```
 */
export function assertCompactJws (token: string): void {
  const segments = token.split('.')
  if (segments.length !== 3 || !isCanonicalBase64url(segments[0] as string) || !isCanonicalBase64url(segments[1] as string) ||
    !isCanonicalSignature(segments[2] as string)) throw new InvalidTokenError(MALFORMED)
  const header = decodeHeader(segments[0] as string)
  if (!isHeaderWellTyped(header) || header.crit !== undefined) throw new InvalidTokenError(MALFORMED)
}
