import { InvalidOptionError } from '../errors.js'
import { isScopeToken } from '../protocol/scopes.js'
import { isSecureUrl } from '../util/secure-url.js'
import { isRecord } from '../util/is-record.js'

/**
 * Validation of the options given to the scheme factories (`apiKey()`, `httpBasic()`…).
 * They run when the app calls the factory, so a bad option fails before `register()`.
 */

// RFC 7235 §2.2: realm is a quoted-string; kept to printable ASCII without quote or backslash
const REALM = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/

/** Throws `FST_OAUTH2_INVALID_OPTION` naming `option` unless `options` is an object. */
export function assertOptions (option: string, options: unknown): asserts options is Record<string, unknown> {
  if (!isRecord(options)) throw new InvalidOptionError(option, 'must be an object')
}

/** A `realm` option: printable ASCII, no quote or backslash; `undefined` when absent. */
export function optionalRealm (option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || !REALM.test(value)) throw new InvalidOptionError(option, 'must be printable ASCII without " or \\')
  return value
}

/** An optional non-empty string option. */
export function optionalText (option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(option, 'must be a non-empty string')
  return value
}

/** A required function option. */
export function requiredFunction<T extends (...args: never[]) => unknown> (option: string, value: unknown): T {
  if (typeof value !== 'function') throw new InvalidOptionError(option, 'must be a function')
  return value as T
}

/** A positive number of seconds (fractions allowed), or `fallback` when absent. */
export function positiveSeconds (option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidOptionError(option, 'must be a positive number of seconds')
  return value
}

/** Declared scopes (name → description), as the plugin's own `scopes` option takes them. */
export function declaredScopes (option: string, value: unknown): Readonly<Record<string, string>> {
  if (!isRecord(value) || !Object.entries(value).every(([name, text]) => isScopeToken(name) && typeof text === 'string')) {
    throw new InvalidOptionError(option, 'must be an object of RFC 6749 §3.3 scope names to description strings')
  }
  return Object.freeze({ ...value as Record<string, string> })
}

/** A URL option: absolute, https (or http on a loopback host, for development and tests). */
export function secureUrl (option: string, value: unknown): URL {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    throw new InvalidOptionError(option, 'must be an absolute URL')
  }
  if (typeof value !== 'string' || !isSecureUrl(url)) throw new InvalidOptionError(option, 'must be an https URL (http only on a loopback host)')
  return url
}
