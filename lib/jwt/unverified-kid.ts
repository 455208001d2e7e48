import { Buffer } from 'node:buffer'

// RFC 7515 §2: base64url without padding; whitespace, '+', '/' or '=' mean a malformed token
const BASE64URL = /^[A-Za-z0-9_-]+$/

/**
 * Reads the `kid` of a compact JWS's protected header, without verifying
 * anything: the result only picks which key checks the signature. Returns
 * `undefined` when the header is malformed or has no string `kid`.
 *
 * @example
 * ```ts
 * readUnverifiedKid('eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.e30.sig') // 'k1'
 * ```
 */
export function readUnverifiedKid (token: string): string | undefined {
  const segment = token.slice(0, Math.max(token.indexOf('.'), 0))
  if (!BASE64URL.test(segment)) return undefined
  let header: unknown
  try {
    header = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  const kid = typeof header === 'object' && header !== null ? (header as { kid?: unknown }).kid : undefined
  return typeof kid === 'string' ? kid : undefined
}
