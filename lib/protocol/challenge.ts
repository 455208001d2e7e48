import { toErrorDescription } from './error-description.js'

/**
 * Builds a `WWW-Authenticate` challenge (RFC 7235 §4.1): `Scheme name="value", …`.
 * Values come from this server, never from the request; quotes and backslashes are
 * escaped anyway (RFC 7230 §3.2.6 quoted-pair) so a challenge can never be broken.
 */
export function formatChallenge (scheme: string, parameters: Record<string, string | undefined>): string {
  const pairs: string[] = []
  for (const [name, value] of Object.entries(parameters)) {
    if (value === undefined) continue
    // RFC 6750 §3: error_description uses RFC 6749 §5.2's characters, like the token endpoint's
    const text = name === 'error_description' ? toErrorDescription(value) : value
    pairs.push(`${name}="${text.replace(/["\\]/g, '\\$&')}"`)
  }
  return pairs.length === 0 ? scheme : `${scheme} ${pairs.join(', ')}`
}
