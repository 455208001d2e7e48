import type { JsonWebKeyInput } from 'node:crypto'
import type { ResolvedKey } from './signing-keys.js'

// node:crypto's `JsonWebKey` left @types/node in v25; `JsonWebKeyInput['key']` names it in every version
type NodeJsonWebKey = JsonWebKeyInput['key']

/** A public JSON Web Key as published in the JWKS (RFC 7517 §4). */
export interface PublicJsonWebKey extends NodeJsonWebKey {
  kid: string
  alg: string
  use: 'sig'
}

/** A JSON Web Key Set (RFC 7517 §5), frozen. */
export interface JsonWebKeySet {
  readonly keys: readonly Readonly<PublicJsonWebKey>[]
}

function publicJwk (key: ResolvedKey): Readonly<PublicJsonWebKey> {
  // Exporting the public KeyObject can only yield public members: no `d`, `p`, `q`…
  const jwk = key.publicKey.export({ format: 'jwk' })
  // RFC 7517 §4.2, §4.4, §4.5: use, alg and kid let clients pick the key and its one algorithm
  return Object.freeze({ ...jwk, kid: key.kid, alg: key.algorithm, use: 'sig' })
}

/**
 * The public JSON Web Key Set of asymmetric verification keys, in their
 * configured order, for `/.well-known/jwks.json`.
 *
 * @example
 * ```ts
 * jwks(material.keys) // { keys: [{ kty: 'OKP', crv: 'Ed25519', x: '…', kid: '2025-06', alg: 'EdDSA', use: 'sig' }] }
 * ```
 */
export function jwks (keys: readonly ResolvedKey[]): JsonWebKeySet {
  return Object.freeze({ keys: Object.freeze(keys.map(publicJwk)) })
}
