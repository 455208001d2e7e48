import { Buffer } from 'node:buffer'
import { constants, createHmac, createSecretKey, verify, type KeyObject, type VerifyKeyObjectInput } from 'node:crypto'
import type { AsymmetricAlgorithm, SecretAlgorithm } from './signing-keys.js'
import { textEquality } from '../util/equal-text.js'

/** Checks the signature segment of a compact JWS, already in canonical base64url, against its signing input. */
export type SignatureCheck = (signingInput: string, signature: string) => boolean

// RFC 7518 §3.2: HSxxx is HMAC with SHA-xxx, the whole MAC (no truncation)
const HMAC_HASH: Readonly<Record<SecretAlgorithm, string>> = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }
// Unpadded base64url length of the MAC: 32, 48 and 64 bytes
const HMAC_SIGNATURE_LENGTH: Readonly<Record<SecretAlgorithm, number>> = { HS256: 43, HS384: 64, HS512: 86 }

/**
 * The HMAC check of RFC 7518 §3.2 with a key imported once: the signature must
 * encode a MAC of the right length, compared in constant time. The MAC is
 * compared in its base64url spelling, which for a canonical segment (the caller
 * checked the signature's) stands for exactly one MAC, so no buffer is created
 * per token (see `textEquality`).
 */
export function hmacSignatureCheck (algorithm: SecretAlgorithm, secret: Buffer): SignatureCheck {
  const key = createSecretKey(secret)
  const hash = HMAC_HASH[algorithm]
  const equalText = textEquality(HMAC_SIGNATURE_LENGTH[algorithm])
  return function checkHmac (signingInput, signature) {
    return equalText(createHmac(hash, key).update(signingInput, 'latin1').digest('base64url'), signature)
  }
}

// RFC 7518 §3.3 (PKCS #1 v1.5), §3.5 (PSS, salt as long as the hash), §3.4 (R || S, not DER); RFC 8037 §3.1 (EdDSA hashes itself)
function verifyInput (algorithm: AsymmetricAlgorithm, key: KeyObject): VerifyKeyObjectInput {
  if (algorithm === 'PS256') return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
  if (algorithm === 'ES256') return { key, dsaEncoding: 'ieee-p1363' }
  return { key }
}

/** The public-key check of one key, with the one algorithm it is used with (RFC 8725 §3.1). */
export function publicKeySignatureCheck (algorithm: AsymmetricAlgorithm, key: KeyObject): SignatureCheck {
  const input = verifyInput(algorithm, key)
  const digest = algorithm === 'EdDSA' ? null : 'sha256'
  return function checkPublicKeySignature (signingInput, signature) {
    return verify(digest, Buffer.from(signingInput, 'latin1'), input, Buffer.from(signature, 'base64url'))
  }
}
