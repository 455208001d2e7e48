import { createHash } from 'node:crypto'

/** The SHA-256 of a UTF-8 string, as 32 bytes. */
export function sha256 (value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}

/** Length of a SHA-256 digest in base64: 32 bytes, 44 characters with its padding. */
export const SHA256_BASE64_LENGTH = 44

/**
 * The SHA-256 of a UTF-8 string in base64 (44 characters). Secrets are compared
 * by these digests with `textEquality`: equal lengths whatever was presented, so
 * neither the comparison nor a length check reveals how much of a secret
 * matched, and the text, unlike `digest()`'s bytes, needs no buffer of its own.
 */
export function sha256Base64 (value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('base64')
}
