import type { AccessTokens } from '../jwt/access-tokens.js'
import type { IssuedRefreshToken, RefreshTokens } from './refresh-tokens.js'
import { formatScope } from '../protocol/scopes.js'

/** RFC 6749 §5.1 successful token response. */
export interface TokenResponse {
  access_token: string
  token_type: 'bearer'
  expires_in: number
  scope: string
  refresh_token?: string
}

/** Who the tokens are for. */
export interface TokenSubject {
  /** Becomes the `sub` claim. */
  readonly id: string
}

/**
 * Issues the tokens of a successful grant. `refresh` is the rotated refresh token
 * of a refresh grant; without it, a new refresh-token family starts (when enabled).
 */
export type IssueTokens = (subject: TokenSubject, scopes: readonly string[], clientId: string | null, refresh?: IssuedRefreshToken) => Promise<TokenResponse>

/**
 * Builds the token response of RFC 6749 §5.1 around a freshly signed access token,
 * with a refresh token when `refreshTokens` is given. Access tokens of a refresh-token
 * family carry its id as `sid`, so revoking the family revokes them too.
 */
export function createTokenResponder (accessTokens: AccessTokens, refreshTokens: RefreshTokens | null = null): IssueTokens {
  return async function issueTokens (subject, scopes, clientId, refresh) {
    const session = refresh ?? (refreshTokens === null ? undefined : await refreshTokens.start(subject.id, clientId, scopes))
    const { token, expiresIn } = accessTokens.sign(subject.id, scopes, {
      ...(clientId === null ? {} : { clientId }),
      ...(session === undefined ? {} : { claims: { sid: session.familyId } })
    })
    // RFC 6749 §5.1: token_type is case-insensitive; "bearer" is what FastAPI and Swagger UI use
    const response: TokenResponse = { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: formatScope(scopes) }
    if (session !== undefined) response.refresh_token = session.token
    return response
  }
}
