/**
 * Builds a `WWW-Authenticate` challenge (RFC 7235 §4.1): `Scheme name="value", …`.
 * Values come from this server, never from the request; quotes and backslashes are
 * escaped anyway (RFC 7230 §3.2.6 quoted-pair) so a challenge can never be broken.
 */
export function formatChallenge (scheme: string, parameters: Record<string, string | undefined>): string {
  const pairs: string[] = []
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined) pairs.push(`${name}="${value.replace(/["\\]/g, '\\$&')}"`)
  }
  return pairs.length === 0 ? scheme : `${scheme} ${pairs.join(', ')}`
}
