import type { AccessTokens } from './access-tokens.js'
import { formatScope } from './scopes.js'

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

/** Issues the tokens of a successful grant. */
export type IssueTokens = (subject: TokenSubject, scopes: readonly string[], clientId: string | null) => Promise<TokenResponse>

/** Builds the token response of RFC 6749 §5.1 around a freshly signed access token. */
export function createTokenIssuer (accessTokens: AccessTokens): IssueTokens {
  return async function issueTokens (subject, scopes, clientId) {
    const { token, expiresIn } = accessTokens.sign(subject.id, scopes, clientId === null ? undefined : { clientId })
    // RFC 6749 §5.1: token_type is case-insensitive; "bearer" is what FastAPI and Swagger UI use
    return { access_token: token, token_type: 'bearer', expires_in: expiresIn, scope: formatScope(scopes) }
  }
}
