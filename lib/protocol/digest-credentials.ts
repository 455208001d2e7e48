import { Buffer } from 'node:buffer'

/**
 * The directives of an `Authorization: Digest …` header (RFC 7616 §3.4), by
 * lowercase name, values unquoted. Quoted and token forms are both accepted for
 * every directive: deployed clients quote `algorithm` and `qop`, which the RFC's
 * grammar leaves unquoted.
 */
export type DigestDirectives = ReadonlyMap<string, string>

const SCHEME = /^digest(?: +|$)/i
// RFC 9110 §5.6.2: token = 1*tchar
const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y
// RFC 9110 §5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (obs-text kept: UTF-8 bytes)
const QUOTED = /"((?:[\t \x21\x23-\x5B\x5D-\x7E\x80-\xFF]|\\[\t \x21-\x7E\x80-\xFF])*)"/y
const OWS = /[ \t]*/y
const UTF8 = new TextDecoder('utf-8', { fatal: true })
// A Digest header has about ten directives; a hundred is an attack or a broken client
const MAX_DIRECTIVES = 32

/** Whether an Authorization header value uses the Digest scheme (whatever follows). */
export function isDigestAuthorization (header: string): boolean {
  return SCHEME.test(header)
}

function match (pattern: RegExp, input: string, at: number): RegExpExecArray | null {
  pattern.lastIndex = at
  return pattern.exec(input)
}

function skipSpace (input: string, at: number): number {
  return at + (match(OWS, input, at) as RegExpExecArray)[0].length
}

const NON_ASCII = /[\x80-\xFF]/

// Header values reach Node as latin1: turn the bytes of a quoted string back into UTF-8 text
function decodeQuoted (raw: string): string | null {
  const text = raw.includes('\\') ? raw.replace(/\\(.)/g, '$1') : raw
  // Almost every value is ASCII: no bytes to reinterpret
  if (!NON_ASCII.test(text)) return text
  try {
    return UTF8.decode(Buffer.from(text, 'latin1'))
  } catch {
    return null
  }
}

/**
 * Parses the directives of a Digest credential (RFC 7235 §2.1: `auth-scheme 1*SP
 * #auth-param`, `auth-param = token BWS "=" BWS ( token / quoted-string )`).
 * Returns `null` for anything malformed, including a repeated directive (RFC 7235
 * §2.1: each parameter name occurs once) and invalid UTF-8 in a quoted value.
 */
export function parseDigestDirectives (header: string): DigestDirectives | null {
  const scheme = SCHEME.exec(header)
  if (scheme === null) return null
  const directives = new Map<string, string>()
  let at = scheme[0].length
  while (at < header.length) {
    at = skipSpace(header, at)
    // RFC 9110 §5.6.1: empty list elements are allowed and ignored
    if (header[at] === ',') {
      at++
      continue
    }
    if (at >= header.length) break
    const name = match(TOKEN, header, at)
    if (name === null) return null
    at = skipSpace(header, at + name[0].length)
    if (header[at] !== '=') return null
    at = skipSpace(header, at + 1)
    let value: string | null
    const quoted = match(QUOTED, header, at)
    if (quoted !== null) {
      value = decodeQuoted(quoted[1] as string)
      at += quoted[0].length
    } else {
      const token = match(TOKEN, header, at)
      if (token === null) return null
      value = token[0]
      at += token[0].length
    }
    const key = name[0].toLowerCase()
    if (value === null || directives.has(key) || directives.size >= MAX_DIRECTIVES) return null
    directives.set(key, value)
    at = skipSpace(header, at)
    if (at < header.length && header[at] !== ',') return null
  }
  return directives
}

// RFC 8187 §3.2.1: ext-value = charset "'" [ language ] "'" value-chars (only UTF-8 is accepted here)
const EXT_VALUE = /^utf-8'[A-Za-z0-9-]*'((?:%[0-9A-Fa-f]{2}|[A-Za-z0-9!#$&+.^_`|~-])*)$/i

/**
 * Decodes the `username*` directive (RFC 7616 §3.4.4 and RFC 8187): how a client
 * sends a user name that a quoted-string cannot carry. Returns `null` when malformed.
 */
export function decodeExtValue (value: string): string | null {
  const parts = EXT_VALUE.exec(value)
  if (parts === null) return null
  try {
    return UTF8.decode(Buffer.from((parts[1] as string).replace(/%([0-9A-Fa-f]{2})/g, (_escape, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))), 'latin1'))
  } catch {
    return null
  }
}
