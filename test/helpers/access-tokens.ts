import { createAccessTokens, type AccessTokenConfig, type AccessTokens, type SigningKey } from '../../lib/jwt/access-tokens.js'
import { resolveSigningKeys } from '../../lib/jwt/signing-keys.js'

/** Raw key options, as a user gives them to the plugin. */
export interface RawKeyOptions {
  secret?: string | Buffer
  keys?: SigningKey[]
  algorithms?: string[]
}

/** The access-token settings with raw key options instead of resolved key material. */
export type RawAccessTokenConfig = RawKeyOptions & Omit<AccessTokenConfig, 'keyMaterial'>

/**
 * Access tokens from raw key options, validated as `resolveOptions()` validates them
 * (through `resolveSigningKeys`), so key-material errors surface here as they do at register.
 */
export function accessTokensWith (config: RawAccessTokenConfig): AccessTokens {
  const { secret, keys, algorithms, ...rest } = config
  return createAccessTokens({ keyMaterial: resolveSigningKeys(secret, keys, algorithms), ...rest })
}
