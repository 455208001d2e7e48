import { createHash } from 'node:crypto'

/**
 * The SHA-256 of a UTF-8 string, as 32 bytes. Secrets are compared by their digests
 * with `timingSafeEqual`: equal lengths whatever was presented, so neither the
 * comparison nor a length check reveals how much of a secret matched.
 */
export function sha256 (value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}
