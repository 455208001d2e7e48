import { createHash } from 'node:crypto'

/** Length of a SHA-256 digest in base64: 32 bytes, 44 characters with its padding. */
export const SHA256_BASE64_LENGTH = 44

/**
 * The SHA-256 of a UTF-8 string, as text: `hex` for keys a store holds, `base64`
 * (44 characters) for comparing secrets with `textEquality`, at equal lengths
 * whatever was presented, so neither the comparison nor a length check reveals
 * how much of a secret matched. Text, unlike `digest()`'s bytes, needs no
 * buffer of its own.
 */
export function sha256 (value: string, encoding: 'hex' | 'base64'): string {
  return createHash('sha256').update(value, 'utf8').digest(encoding)
}
