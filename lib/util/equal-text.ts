import { Buffer } from 'node:buffer'
import { timingSafeEqual } from 'node:crypto'

/** Whether two strings are the same text of the comparison's length, in time that does not depend on where they differ. */
export type TextEquality = (a: string, b: string) => boolean

/**
 * A constant-time comparison of digests and MACs in their base64 or base64url
 * spelling, `length` characters of one byte each. Asking `node:crypto` for a
 * digest's text creates no buffer, where `digest()` creates an `ArrayBuffer`
 * for every call, a cost that shows in every request that checks one (a
 * quarter of an HMAC check). Both strings are copied into two buffers kept for
 * the purpose (a comparison runs start to end without yielding), compared with
 * `timingSafeEqual`, and wiped. A string of another length is unequal; a
 * character over U+00FF would be copied as its low byte, so callers pass
 * ASCII only, as these spellings are.
 */
export function textEquality (length: number): TextEquality {
  const left = Buffer.alloc(length)
  const right = Buffer.alloc(length)
  return function equalText (a, b) {
    if (a.length !== length || b.length !== length) return false
    left.write(a, 'latin1')
    right.write(b, 'latin1')
    const equal = timingSafeEqual(left, right)
    left.fill(0)
    right.fill(0)
    return equal
  }
}
