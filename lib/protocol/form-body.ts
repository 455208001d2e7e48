import { InvalidRequestError } from '../errors.js'

/**
 * A parsed `application/x-www-form-urlencoded` body: one value per name.
 * RFC 6749 §3.1: parameters sent without a value are treated as omitted, so they are absent here.
 */
export type FormParameters = Readonly<Record<string, string>>

/** Names whose repetition can be reported by name: the ones this server defines, never raw input. */
const KNOWN_PARAMETERS = new Set([
  'grant_type', 'username', 'password', 'scope', 'client_id', 'client_secret',
  'refresh_token', 'token', 'token_type_hint'
])

// RFC 6749 Appendix B: the form is UTF-8. A lossy decode (U+FFFD for bad bytes) would make
// different raw passwords the same string, so invalid bytes are refused instead
// ignoreBOM keeps a byte-order mark in the text, so the parser sees it and refuses it instead of it vanishing
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Decodes one `application/x-www-form-urlencoded` name or value (WHATWG URL §5.1):
 * `+` is a space. Throws `URIError` on a bad escape or invalid UTF-8.
 */
export function decodeFormComponent (value: string): string {
  // decodeURIComponent throws on bad escapes and invalid UTF-8, where a lossy decode would merge distinct inputs
  return decodeURIComponent(value.replaceAll('+', ' '))
}

function decodeBody (body: Uint8Array): string {
  try {
    return UTF8.decode(body)
  } catch {
    throw new InvalidRequestError('The request body is not valid form encoding')
  }
}

/**
 * Parses a form body strictly: malformed percent-encoding, invalid UTF-8 (raw
 * bytes or percent-encoded) and repeated parameters are `invalid_request`
 * (RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once").
 */
export function parseFormBody (body: string | Uint8Array): FormParameters {
  const parameters: Record<string, string> = Object.create(null)
  const text = typeof body === 'string' ? body : decodeBody(body)
  if (text === '') return parameters
  // WHATWG urlencoded has no byte-order mark: one spelling per form, as for everything else here
  if (text.startsWith('\uFEFF')) throw new InvalidRequestError('The request body starts with a byte order mark')
  const seen = new Set<string>()
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const separator = pair.indexOf('=')
    let name: string
    let value: string
    try {
      name = decodeFormComponent(separator === -1 ? pair : pair.slice(0, separator))
      value = separator === -1 ? '' : decodeFormComponent(pair.slice(separator + 1))
    } catch {
      throw new InvalidRequestError('The request body is not valid form encoding')
    }
    if (seen.has(name)) {
      throw new InvalidRequestError(KNOWN_PARAMETERS.has(name) ? `The ${name} parameter is repeated` : 'A request parameter is repeated')
    }
    seen.add(name)
    if (value !== '') parameters[name] = value
  }
  return parameters
}
