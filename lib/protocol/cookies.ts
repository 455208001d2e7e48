/**
 * The raw values of every cookie named `name` in a `Cookie` header, in order. A
 * browser may send two cookies of one name (set for different paths), so callers
 * decide what more than one means, and whether a quoted value is acceptable.
 *
 * @example
 * cookieValues('a=1; token=x', 'token') // ['x']
 */
export function cookieValues (header: string | undefined, name: string): string[] {
  if (header === undefined) return []
  const values: string[] = []
  // RFC 6265 §4.2.1: cookie-string = cookie-pair *( ";" SP cookie-pair )
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=')
    if (separator === -1 || pair.slice(0, separator).trim() !== name) continue
    values.push(pair.slice(separator + 1).trim())
  }
  return values
}
