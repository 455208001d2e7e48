import { createPublicKey, type JsonWebKeyInput, type KeyObject } from 'node:crypto'
import { isRecord } from '../util/is-record.js'

/** The JWS algorithms a provider's tokens may use here: asymmetric only (RFC 8725 §3.1, §3.2: no `none`, no HMAC with public keys). */
export const REMOTE_ALGORITHMS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])

/** One verification key of a provider, with the algorithms it may verify. */
export interface RemoteKey {
  /** `kid` of the JWK, if it has one. */
  readonly kid: string | undefined
  /** Algorithms this key verifies: its JWK `alg`, or those its type fits, within the allowed ones. */
  readonly algorithms: readonly string[]
  /** SPKI PEM, as fast-jwt takes it. */
  readonly pem: string
}

const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']
// RFC 7518 §3.4: each ES algorithm has its one curve
const EC_ALGORITHMS: Readonly<Record<string, string>> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }
// RFC 7518 §3.3: RSA keys of 2048 bits or larger MUST be used
const RSA_MIN_BITS = 2048

// RFC 8725 §3.1: the key type decides which algorithms may use it
function algorithmsFitting (key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return Number(key.asymmetricKeyDetails?.modulusLength) >= RSA_MIN_BITS ? RSA_ALGORITHMS : []
    case 'ec': {
      const algorithm = EC_ALGORITHMS[String(key.asymmetricKeyDetails?.namedCurve)]
      return algorithm === undefined ? [] : [algorithm]
    }
    case 'ed25519':
    case 'ed448':
      return ['EdDSA']
    default:
      return []
  }
}

function remoteKey (jwk: Record<string, unknown>, allowed: ReadonlySet<string>): RemoteKey | null {
  // RFC 7517 §4.2: a key published for encryption does not verify signatures
  if (jwk.use !== undefined && jwk.use !== 'sig') return null
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return null
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return null
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' })
  } catch {
    return null
  }
  const fitting = algorithmsFitting(key)
  // RFC 7517 §4.4: a key that names its algorithm is used with that one only
  const candidates = jwk.alg === undefined ? fitting : fitting.filter((algorithm) => algorithm === jwk.alg)
  const algorithms = candidates.filter((algorithm) => allowed.has(algorithm))
  if (algorithms.length === 0) return null
  return Object.freeze({ kid: jwk.kid, algorithms: Object.freeze(algorithms), pem: key.export({ type: 'spki', format: 'pem' }).toString() })
}

/**
 * Reads a provider's JSON Web Key Set (RFC 7517 §5) into verification keys:
 * signature keys of type RSA (2048 bits or more), EC (P-256/384/521) or OKP
 * (Ed25519/Ed448) whose algorithms are allowed. Symmetric keys, encryption keys,
 * keys that cannot be imported and repeated `kid`s are left out. Returns `null`
 * when the document is not a key set at all.
 */
export function readJwks (document: unknown, allowed: ReadonlySet<string>): RemoteKey[] | null {
  if (!isRecord(document) || !Array.isArray(document.keys)) return null
  const keys: RemoteKey[] = []
  const kids = new Set<string | undefined>()
  for (const jwk of document.keys) {
    const key = isRecord(jwk) ? remoteKey(jwk, allowed) : null
    if (key === null) continue
    // Two keys under one kid would make the choice of key the token's
    if (key.kid !== undefined && kids.has(key.kid)) continue
    kids.add(key.kid)
    keys.push(key)
  }
  return keys
}
