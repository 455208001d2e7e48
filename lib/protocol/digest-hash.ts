import { createHash } from 'node:crypto'

/** The HTTP Digest algorithms this plugin verifies (RFC 7616 §3.2: SHA-256 preferred, MD5 for old clients). */
export type DigestAlgorithm = 'SHA-256' | 'MD5'

const NODE_HASH: Readonly<Record<DigestAlgorithm, string>> = { 'SHA-256': 'sha256', MD5: 'md5' }

/** Length of a digest in lowercase hex (RFC 7616 §3.4.1: 64 for SHA-256, 32 for MD5). */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { 'SHA-256': 64, MD5: 32 }

/** Whether `value` names an algorithm of {@link DigestAlgorithm}. */
export function isDigestAlgorithm (value: unknown): value is DigestAlgorithm {
  return value === 'SHA-256' || value === 'MD5'
}

/** RFC 7616 §3.4.1: H(data), in lowercase hex, of the UTF-8 bytes of `data`. */
export function digestHash (algorithm: DigestAlgorithm, data: string): string {
  return createHash(NODE_HASH[algorithm]).update(data, 'utf8').digest('hex')
}

/**
 * The HA1 to store for a user of the Digest scheme: H(username ":" realm ":" password)
 * (RFC 7616 §3.4.2), computed when the password is set so that the password itself
 * need not be kept. One per algorithm the scheme accepts.
 *
 * @example
 * const ha1 = digestHa1('Mufasa', 'http-auth@example.org', 'Circle of Life', 'SHA-256')
 */
export function digestHa1 (username: string, realm: string, password: string, algorithm: DigestAlgorithm): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`)
}
