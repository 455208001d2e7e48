/**
 * Whether a URL may carry keys or provider metadata: https, or http to this machine
 * (a loopback provider in development and tests). Credentials and fragments in the
 * URL are refused: they would leak into logs and never reach the server.
 */
export function isSecureUrl (url: URL): boolean {
  if (url.username !== '' || url.password !== '' || url.hash !== '') return false
  if (url.protocol === 'https:') return true
  return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]' || url.hostname === 'localhost')
}
