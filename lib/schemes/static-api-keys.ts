import { InvalidOptionError } from '../errors.js'
import { textEquality } from '../util/equal-text.js'
import { SHA256_BASE64_LENGTH, sha256 } from '../util/sha256.js'

/** The principal of a key given in a list to {@link staticApiKeys}: its position in that list. */
export interface StaticKeyPrincipal {
  readonly index: number
}

/** What {@link staticApiKeys} returns: a `verify` callback for `apiKey()`. */
export type StaticKeyVerifier<Principal> = (key: string) => Principal | null

// A key must be worth guessing against: 16 characters of VCHAR (RFC 5234) at least
const MIN_KEY_LENGTH = 16
const KEY = /^[\x21-\x7E]+$/

function entriesOf (keys: unknown): Array<[string, unknown]> {
  if (Array.isArray(keys)) return keys.map((key, index) => [key as string, Object.freeze({ index })])
  if (typeof keys === 'object' && keys !== null) return Object.entries(keys)
  throw new InvalidOptionError('staticApiKeys()', 'takes an array of keys or an object of key to principal')
}

/**
 * A constant-time `verify` for a fixed set of API keys. Every call hashes the
 * presented key once (SHA-256) and compares the digest with every configured
 * key's digest in constant time (`timingSafeEqual`), without stopping at a
 * match: the time tells neither which key matched nor how much of one did, nor
 * its length.
 *
 * Keys must be at least 16 visible ASCII characters, and distinct.
 *
 * @example
 * apiKey({ in: 'header', name: 'X-API-Key', verify: staticApiKeys({ [process.env.REPORTS_KEY]: { client: 'reports' } }) })
 * apiKey({ in: 'query', name: 'api_key', verify: staticApiKeys([keyA, keyB]) }) // principal: { index: 0 } or { index: 1 }
 */
export function staticApiKeys (keys: readonly string[]): StaticKeyVerifier<StaticKeyPrincipal>
export function staticApiKeys<Principal> (keys: Readonly<Record<string, Principal>>): StaticKeyVerifier<Principal>
export function staticApiKeys (keys: readonly string[] | Readonly<Record<string, unknown>>): StaticKeyVerifier<unknown> {
  const entries = entriesOf(keys)
  if (entries.length === 0) throw new InvalidOptionError('staticApiKeys()', 'needs at least one key')
  const seen = new Set<string>()
  for (const [key, principal] of entries) {
    // `{ [process.env.KEY]: … }` with the variable unset makes the key the string "undefined": say so, not "too short"
    if (key === 'undefined' || key === '') {
      throw new InvalidOptionError('staticApiKeys()', `got an ${key === '' ? 'empty' : 'undefined'} key: is the environment variable that holds it set?`)
    }
    if (typeof key !== 'string' || key.length < MIN_KEY_LENGTH || !KEY.test(key)) {
      throw new InvalidOptionError('staticApiKeys()', `keys must be at least ${MIN_KEY_LENGTH} visible ASCII characters`)
    }
    if (seen.has(key)) throw new InvalidOptionError('staticApiKeys()', 'has the same key twice')
    seen.add(key)
    if (principal === null || principal === undefined) throw new InvalidOptionError('staticApiKeys()', 'needs a principal for every key')
  }
  const digests = entries.map(([key]) => sha256(key, 'base64'))
  const principals = entries.map(([, principal]) => principal)
  const equalText = textEquality(SHA256_BASE64_LENGTH)

  return function verifyStaticApiKey (key: string): unknown {
    const presented = sha256(key, 'base64')
    let found = -1
    for (let index = 0; index < digests.length; index++) {
      // Every digest is compared: no early exit on a match
      if (equalText(presented, digests[index] as string) && found === -1) found = index
    }
    return found === -1 ? null : principals[found]
  }
}
