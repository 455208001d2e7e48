/** The tag of the plugin's own operations (token, revocation, JWKS) in the OpenAPI document. */
export const OAUTH2_TAG = 'OAuth2'

/**
 * The `operationId` of one of the plugin's routes, from its full path:
 * `/token` → `token`, `/v1/auth/token` → `v1AuthToken`. Taken from the path so
 * that registrations under two prefixes never share one (OpenAPI requires them
 * unique), and so generated clients get a stable method name.
 *
 * @example
 * operationIdOf('/.well-known/jwks.json') // 'wellKnownJwksJson'
 */
export function operationIdOf (path: string): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter((word) => word !== '')
  return words.map((word, index) => index === 0 ? word : `${(word[0] as string).toUpperCase()}${word.slice(1)}`).join('')
}
