// RFC 6749 Appendix A.1: client-id = *VSCHAR, VSCHAR = %x20-7E
const VSCHARS = /^[\x20-\x7E]+$/

/**
 * The longest `client_id` accepted. RFC 6749 leaves the length open; ids are short
 * names or UUIDs, and the id is copied into every token and refresh family it gets.
 */
export const MAX_CLIENT_ID_LENGTH = 255

/**
 * Whether `value` is a `client_id` this server takes: 1 to {@link MAX_CLIENT_ID_LENGTH}
 * VSCHARs (RFC 6749 Appendix A.1), so no CR, LF or other control character ever
 * reaches a token, a store key or a log line.
 */
export function isClientId (value: string): boolean {
  return value.length <= MAX_CLIENT_ID_LENGTH && VSCHARS.test(value)
}
