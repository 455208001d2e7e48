import { InvalidGrantError, InvalidScopeError } from '../../errors.js'
import { INVALID_REFRESH_TOKEN, type RefreshTokens } from '../../tokens/refresh-tokens.js'
import type { IssueTokens } from '../../tokens/token-response.js'
import type { AccountPolicy } from '../../passwords/account-policy.js'
import type { GrantHandler } from './grant.js'
import { requestedScopes, requireParameter } from './requested-scope.js'

export interface RefreshTokenGrantConfig {
  readonly refreshTokens: RefreshTokens
  readonly policy: AccountPolicy
  readonly declaredScopes: ReadonlySet<string>
  readonly issueTokens: IssueTokens
}

/**
 * The refresh token grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2): the
 * presented token is replaced by a new one; its family's original scope is the
 * ceiling, narrowed to what the account policy allows now; a disabled or deleted
 * account ends the family.
 */
export function refreshTokenGrant (config: RefreshTokenGrantConfig): GrantHandler {
  return async function handleRefreshTokenGrant ({ parameters, client }) {
    const presented = requireParameter(parameters, 'refresh_token')
    const requested = requestedScopes(parameters, config.declaredScopes)
    const session = await config.refreshTokens.find(presented)
    if (session === null) throw new InvalidGrantError(INVALID_REFRESH_TOKEN)
    const { family } = session
    const clientId = client?.id ?? null
    // RFC 6749 §6: the refresh token must have been issued to the client that presents it
    if (family.clientId !== clientId) throw new InvalidGrantError(INVALID_REFRESH_TOKEN)
    const original = family.scope === '' ? [] : family.scope.split(' ')
    // RFC 6749 §6: the scope may be narrowed, never widened; omitted means the original scope
    if (!requested.every((scope) => original.includes(scope))) throw new InvalidScopeError('The requested scope exceeds the scope originally granted')
    const grant = await config.policy.current(family.userId)
    if (grant === null) {
      await config.refreshTokens.revokeFamily(family)
      throw new InvalidGrantError(INVALID_REFRESH_TOKEN)
    }
    // Scopes taken off the account since the login are not granted again
    const granted = config.policy.narrow(grant, requested.length > 0 ? requested : original)
    if (requested.length > 0 && granted.length === 0) throw new InvalidScopeError('None of the requested scopes may be granted to this user')
    const next = await config.refreshTokens.rotate(session)
    return await config.issueTokens({ id: family.userId }, granted, clientId, next)
  }
}
