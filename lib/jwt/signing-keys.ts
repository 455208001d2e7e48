import { Buffer } from 'node:buffer'
import { createPrivateKey, createPublicKey, KeyObject, type JsonWebKeyInput } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import { isRecord } from '../util/is-record.js'

/** The HMAC algorithms a shared `secret` may use. */
export type SecretAlgorithm = 'HS256' | 'HS384' | 'HS512'

/** The asymmetric algorithms a {@link SigningKey} may use. */
export type AsymmetricAlgorithm = 'RS256' | 'PS256' | 'ES256' | 'EdDSA'

/** Every algorithm an access token may be signed with. `none` is not one of them. */
export type AccessTokenAlgorithm = SecretAlgorithm | AsymmetricAlgorithm

/**
 * One asymmetric key. Keys without a `privateKey` only verify, which is how a
 * retired key keeps its tokens valid until they expire (rotation).
 *
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateKeyPairSync('ed25519')
 * const key: SigningKey = { kid: '2025-06', algorithm: 'EdDSA', privateKey, publicKey }
 * ```
 */
export interface SigningKey {
  /** Key id, put in the `kid` header of the tokens it signs and in the JWKS. Unique. */
  kid: string
  /** The one algorithm this key is used with (RFC 8725 §3.1). */
  algorithm: AsymmetricAlgorithm
  /** PKCS#8/SEC1/PKCS#1 PEM or a private `KeyObject`. */
  privateKey?: KeyObject | string
  /**
   * SPKI PEM, a public `KeyObject` or a public JWK. The JWK type is named through
   * `JsonWebKeyInput`, which every `@types/node` exports (its `JsonWebKey` left `node:crypto` in v25).
   */
  publicKey: KeyObject | string | JsonWebKeyInput['key']
}

/** A validated asymmetric key, in the forms fast-jwt and the JWKS need. */
export interface ResolvedKey {
  readonly kid: string
  readonly algorithm: AsymmetricAlgorithm
  readonly publicKey: KeyObject
  readonly publicKeyPem: string
  readonly privateKeyPem: string | undefined
}

/** A shared HMAC secret and the algorithms it is accepted with; the first one signs. */
export interface SecretKeyMaterial {
  readonly kind: 'secret'
  readonly secret: Buffer
  readonly algorithms: readonly SecretAlgorithm[]
}

/** Asymmetric keys, each verifying with its own algorithm; `signingKey` is the first one with a private key. */
export interface AsymmetricKeyMaterial {
  readonly kind: 'keys'
  readonly keys: readonly ResolvedKey[]
  readonly signingKey: ResolvedKey | undefined
}

/** What signs and verifies access tokens, validated. */
export type KeyMaterial = SecretKeyMaterial | AsymmetricKeyMaterial

// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output
const SECRET_MIN_BYTES: Readonly<Record<SecretAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 }

// RFC 8725 §3.1: each key is used with exactly one algorithm, so the key type decides which
const KEY_FITS: Readonly<Record<AsymmetricAlgorithm, (key: KeyObject) => boolean>> = {
  RS256: isStrongRsaKey,
  PS256: isStrongRsaKey,
  ES256: isP256Key,
  EdDSA: isEdwardsKey
}

// RFC 7518 §3.3: RSA keys of 2048 bits or larger MUST be used
const RSA_MIN_BITS = 2048

function isStrongRsaKey (key: KeyObject): boolean {
  return key.asymmetricKeyType === 'rsa' && Number(key.asymmetricKeyDetails?.modulusLength) >= RSA_MIN_BITS
}

// RFC 7518 §3.4: ES256 is ECDSA over P-256 (OpenSSL's prime256v1), not any 256-bit curve
function isP256Key (key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1'
}

// RFC 8037 §3.1: EdDSA over Ed25519 or Ed448
function isEdwardsKey (key: KeyObject): boolean {
  return key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448'
}

function isSecretAlgorithm (algorithm: string): algorithm is SecretAlgorithm {
  return Object.hasOwn(SECRET_MIN_BYTES, algorithm)
}

function isAsymmetricAlgorithm (algorithm: unknown): algorithm is AsymmetricAlgorithm {
  return typeof algorithm === 'string' && Object.hasOwn(KEY_FITS, algorithm)
}

/**
 * Validates the `algorithms` allow-list: a non-empty array of names, never
 * `none` in any letter case. Returns it without duplicates, or `undefined` when
 * not given (the key material then decides).
 */
function resolveAlgorithms (algorithms: unknown): string[] | undefined {
  if (algorithms === undefined) return undefined
  if (!Array.isArray(algorithms) || algorithms.length === 0) {
    throw new InvalidOptionError('algorithms', 'must be a non-empty array of algorithm names')
  }
  for (const algorithm of algorithms) {
    if (typeof algorithm !== 'string') throw new InvalidOptionError('algorithms', 'must contain only strings')
    // RFC 8725 §2.1, §3.1: unsecured JWTs are never acceptable as access tokens
    if (algorithm.toLowerCase() === 'none') throw new InvalidOptionError('algorithms', 'must not include "none" (RFC 8725 §3.1)')
  }
  return [...new Set<string>(algorithms)]
}

function resolveSecret (secret: unknown, algorithms: string[] | undefined): SecretKeyMaterial {
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) throw new InvalidOptionError('secret', 'must be a string or a Buffer')
  const allowed = algorithms ?? ['HS256']
  let minBytes = 0
  for (const algorithm of allowed) {
    if (!isSecretAlgorithm(algorithm)) {
      throw new InvalidOptionError('algorithms', `lists ${JSON.stringify(algorithm)}, which a shared secret cannot use (HS256, HS384 or HS512)`)
    }
    minBytes = Math.max(minBytes, SECRET_MIN_BYTES[algorithm])
  }
  const bytes = Buffer.from(secret)
  // RFC 7518 §3.2: a key of the same size as the hash output or larger MUST be used
  if (bytes.length < minBytes) {
    throw new InvalidOptionError('secret', `must be at least ${minBytes} bytes for ${allowed.join(', ')} (got ${bytes.length} bytes)`)
  }
  return Object.freeze({ kind: 'secret', secret: bytes, algorithms: Object.freeze(allowed as SecretAlgorithm[]) })
}

function toPublicKey (value: unknown): KeyObject {
  if (value instanceof KeyObject) return value.type === 'public' ? value : createPublicKey(value)
  if (typeof value === 'string') return createPublicKey(value)
  return createPublicKey({ key: value as JsonWebKeyInput['key'], format: 'jwk' })
}

function toPrivateKey (value: unknown): KeyObject {
  const key = value instanceof KeyObject ? value : createPrivateKey(value as string)
  if (key.type !== 'private') throw new TypeError('not a private key')
  return key
}

function resolvePublicKey (value: unknown, option: string): KeyObject {
  try {
    return toPublicKey(value)
  } catch {
    throw new InvalidOptionError(option, 'must be a public key: SPKI PEM, KeyObject or JWK')
  }
}

function resolvePrivateKey (value: unknown, option: string, publicKey: KeyObject): string {
  let key: KeyObject
  try {
    key = toPrivateKey(value)
  } catch {
    throw new InvalidOptionError(option, 'must be an unencrypted private key: PEM or KeyObject')
  }
  if (!publicKey.equals(createPublicKey(key))) throw new InvalidOptionError(option, 'does not belong to the publicKey of the same entry')
  // fast-jwt takes PEM text, not KeyObjects
  return key.export({ type: 'pkcs8', format: 'pem' }).toString()
}

function resolveKey (entry: unknown, option: string, seenKids: Set<string>): ResolvedKey {
  if (!isRecord(entry)) throw new InvalidOptionError(option, 'must be an object { kid, algorithm, publicKey, privateKey? }')
  const { kid, algorithm } = entry
  if (typeof kid !== 'string' || kid === '') throw new InvalidOptionError(`${option}.kid`, 'must be a non-empty string')
  if (seenKids.has(kid)) throw new InvalidOptionError(`${option}.kid`, `${JSON.stringify(kid)} is used by another key`)
  seenKids.add(kid)
  if (!isAsymmetricAlgorithm(algorithm)) throw new InvalidOptionError(`${option}.algorithm`, 'must be RS256, PS256, ES256 or EdDSA')
  const publicKey = resolvePublicKey(entry.publicKey, `${option}.publicKey`)
  if (!KEY_FITS[algorithm](publicKey)) {
    throw new InvalidOptionError(`${option}.publicKey`, `is a ${publicKey.asymmetricKeyType} key, which does not fit ${algorithm} (RS256/PS256: RSA >= 2048 bits, ES256: P-256, EdDSA: Ed25519/Ed448)`)
  }
  return Object.freeze({
    kid,
    algorithm,
    publicKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: entry.privateKey === undefined ? undefined : resolvePrivateKey(entry.privateKey, `${option}.privateKey`, publicKey)
  })
}

function resolveKeys (keys: unknown, algorithms: string[] | undefined): AsymmetricKeyMaterial {
  if (!Array.isArray(keys) || keys.length === 0) throw new InvalidOptionError('keys', 'must be a non-empty array of { kid, algorithm, publicKey, privateKey? }')
  const seenKids = new Set<string>()
  const resolved = keys.map((entry: unknown, index) => resolveKey(entry, `keys[${index}]`, seenKids))
  if (algorithms !== undefined) {
    for (const algorithm of algorithms) {
      if (!resolved.some((key) => key.algorithm === algorithm)) {
        throw new InvalidOptionError('algorithms', `lists ${JSON.stringify(algorithm)}, which no entry of keys uses`)
      }
    }
    for (const [index, key] of resolved.entries()) {
      if (!algorithms.includes(key.algorithm)) throw new InvalidOptionError(`keys[${index}].algorithm`, `${key.algorithm} is not listed in algorithms`)
    }
  }
  return Object.freeze({
    kind: 'keys',
    keys: Object.freeze(resolved),
    signingKey: resolved.find((key) => key.privateKeyPem !== undefined)
  })
}

/**
 * Validates the key options of the access tokens and returns what signs and
 * verifies them: a shared HMAC `secret` (HS256 by default), or asymmetric
 * `keys`, never both. `algorithms` is the allow-list; it defaults to HS256 for a
 * secret and to the keys' own algorithms for keys, and must agree with them.
 *
 * Throws `InvalidOptionError` (`FST_OAUTH2_INVALID_OPTION`) naming the option at fault.
 *
 * @example
 * ```ts
 * resolveSigningKeys(process.env.JWT_SECRET, undefined, undefined) // { kind: 'secret', algorithms: ['HS256'], … }
 * ```
 */
export function resolveSigningKeys (secret: unknown, keys: unknown, algorithms: unknown): KeyMaterial {
  const allowed = resolveAlgorithms(algorithms)
  if (secret !== undefined && keys !== undefined) {
    // RFC 8725 §2.1: mixing HMAC and public-key verification is where algorithm confusion starts
    throw new InvalidOptionError('secret', 'cannot be combined with keys: use a shared secret or asymmetric keys')
  }
  if (secret !== undefined) return resolveSecret(secret, allowed)
  if (keys !== undefined) return resolveKeys(keys, allowed)
  throw new InvalidOptionError('secret', 'is required unless asymmetric keys are given')
}
