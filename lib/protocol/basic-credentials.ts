/** A user-id/password pair from an `Authorization: Basic` header (RFC 7617). */
export interface BasicCredentials {
  readonly userId: string
  readonly password: string
}

// RFC 7617 §2 + RFC 7235 §2.1: credentials = "Basic" 1*SP token68, scheme case-insensitive
const BASIC = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i
const UTF8 = new TextDecoder('utf-8', { fatal: true })
// RFC 7617 §2: the user-id and password must not contain control characters
const CONTROL = /[\x00-\x1F\x7F]/ // eslint-disable-line no-control-regex

/** Whether an Authorization header value uses the Basic scheme (whatever follows). */
export function isBasicAuthorization (header: string): boolean {
  return /^basic(?: |$)/i.test(header)
}

/**
 * Decodes a Basic header strictly: canonical base64, valid UTF-8, a colon, no
 * control characters. Returns `null` for anything malformed.
 */
export function parseBasicCredentials (header: string): BasicCredentials | null {
  const match = BASIC.exec(header)
  if (match === null) return null
  const encoded = match[1] as string
  const bytes = Buffer.from(encoded, 'base64')
  // Reject non-canonical base64 (wrong padding, stray bits): it must round-trip
  if (bytes.toString('base64') !== encoded) return null
  let decoded: string
  try {
    decoded = UTF8.decode(bytes)
  } catch {
    return null
  }
  const colon = decoded.indexOf(':')
  if (colon === -1 || CONTROL.test(decoded)) return null
  return { userId: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}
