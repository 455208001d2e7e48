import type { AccessTokenClaims } from '../jwt/access-token-claims.js'
import type { AccessTokens } from '../jwt/access-tokens.js'
import { InvalidRequestError, UnsupportedTokenTypeError } from '../errors.js'
import { parseRefreshToken, type RefreshTokens } from './refresh-tokens.js'
import type { Revocation } from './revocation.js'

/** The client asking for a revocation: `null` when it did not identify itself. */
export type RevokingClient = { readonly id: string } | null

/** Revokes refresh and access tokens, for the RFC 7009 route and for `app.oauth2.revokeToken()`. */
export interface TokenRevoker {
  /**
   * Revokes `token`: a refresh token with its whole family, an access token by
   * `jti`. Unknown, malformed and expired tokens are ignored (RFC 7009 §2.2).
   * With a `client` (`null`: a client that did not identify itself), a token
   * issued to another client is refused (`invalid_request`); `undefined` skips
   * that check (the app itself is asking). An access token while access-token
   * revocation checks are off: `unsupported_token_type`. Store failure: 503.
   */
  revoke (token: string, client?: RevokingClient): Promise<void>
}

export interface TokenRevokerConfig {
  readonly refreshTokens: RefreshTokens | null
  readonly revocation: Revocation
  readonly accessTokens: AccessTokens
}

const OTHER_CLIENT = 'The token was issued to another client'

function verifiedOrNull (accessTokens: AccessTokens, token: string): Readonly<AccessTokenClaims> | null {
  try {
    return accessTokens.verify(token)
  } catch {
    // verify() throws InvalidTokenError whatever is wrong. RFC 7009 §2.2: an invalid token
    // (expired, forged, not ours) is answered like a revoked one
    return null
  }
}

function issuedTo (client: RevokingClient | undefined, tokenClientId: string | null): boolean {
  return client === undefined || (client?.id ?? null) === tokenClientId
}

/** The revocation logic shared by the RFC 7009 endpoint and `app.oauth2.revokeToken()`. */
export function createTokenRevoker (config: TokenRevokerConfig): TokenRevoker {
  const { refreshTokens, revocation, accessTokens } = config

  async function revokeRefreshToken (token: string, client: RevokingClient | undefined, tokens: RefreshTokens): Promise<void> {
    const session = await tokens.find(token)
    if (session === null) return
    // RFC 7009 §2.1: the server verifies that the token was issued to the client asking
    if (!issuedTo(client, session.family.clientId)) throw new InvalidRequestError(OTHER_CLIENT)
    // RFC 7009 §2.1: revoking a refresh token revokes the grant behind it, its access tokens included (by sid)
    await tokens.revokeFamily(session.family)
  }

  async function revoke (token: string, client?: RevokingClient): Promise<void> {
    // The two kinds never look alike (two parts and three), so token_type_hint is not needed to tell them apart
    if (refreshTokens !== null && parseRefreshToken(token) !== null) return await revokeRefreshToken(token, client, refreshTokens)
    const claims = verifiedOrNull(accessTokens, token)
    if (claims === null) return
    // RFC 7009 §2.2.1: a server that cannot revoke access tokens says so
    if (revocation.check === null) throw new UnsupportedTokenTypeError()
    if (!issuedTo(client, claims.client_id ?? null)) throw new InvalidRequestError(OTHER_CLIENT)
    await revocation.revokeAccessToken(claims)
  }

  return { revoke }
}
