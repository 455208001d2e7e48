import type { FastifyBaseLogger } from 'fastify'
import { InvalidGrantError, InvalidRequestError, InvalidScopeError } from '../../errors.js'
import { BCRYPT_MAX_PASSWORD_BYTES } from '../../passwords/bcrypt.js'
import type { PasswordHasher } from '../../passwords/password-hasher.js'
import { loginFailureReason, type LoginAttempt, type LoginProtection } from '../../protection/login-protection.js'
import { grantScopes } from '../../protocol/scopes.js'
import type { IssueTokens } from '../../tokens/token-response.js'
import type { UserAccount, UserStore } from '../../types.js'
import type { GrantHandler } from './grant.js'
import { requestedScopes, requireParameter } from './requested-scope.js'

export interface PasswordGrantConfig {
  readonly users: Pick<UserStore, 'findByUsername'>
  readonly passwords: PasswordHasher
  readonly declaredScopes: ReadonlySet<string>
  readonly issueTokens: IssueTokens
  readonly onRehash: ((account: UserAccount, passwordHash: string) => void | Promise<void>) | undefined
  readonly log: FastifyBaseLogger
  /** Login throttling and security events around the password check (absent: neither). */
  readonly protection?: LoginProtection
}

// One answer for unknown user, wrong password and disabled account (RFC 6749 §10.12 spirit: no account probing)
const BAD_CREDENTIALS = 'Incorrect username or password'
// NUL ends the password in many bcrypt implementations; control characters have no place in a username
const CONTROL = /[\x00-\x1F\x7F]/ // eslint-disable-line no-control-regex

function checkLoginInput (username: string, password: string): void {
  if (CONTROL.test(username)) throw new InvalidRequestError('The "username" parameter is malformed')
  if (password.includes('\0')) throw new InvalidRequestError('The "password" parameter is malformed')
  // bcrypt reads 72 bytes at most: refuse longer passwords rather than check a truncated one
  if (Buffer.byteLength(password) > BCRYPT_MAX_PASSWORD_BYTES) {
    throw new InvalidRequestError(`The "password" parameter is longer than ${BCRYPT_MAX_PASSWORD_BYTES} bytes`)
  }
}

/** The resource owner password credentials grant (RFC 6749 §4.3). */
export function passwordGrant (config: PasswordGrantConfig): GrantHandler {
  async function rehash (account: UserAccount, password: string): Promise<void> {
    try {
      await config.onRehash?.(account, await config.passwords.hash(password))
    } catch (error) {
      // A failed upgrade must not fail the login: the old hash still works
      config.log.warn({ err: error }, 'fastify-oauth2-password: onRehash failed')
    }
  }

  return async function handlePasswordGrant ({ parameters, client, request }) {
    const username = requireParameter(parameters, 'username')
    const password = requireParameter(parameters, 'password')
    checkLoginInput(username, password)
    const requested = requestedScopes(parameters, config.declaredScopes)
    // Account protection: a throttled attempt gets its 429 before any user lookup or bcrypt work
    const attempt: LoginAttempt = { request, username, clientId: client?.id ?? null, mechanism: 'password_grant' }
    await config.protection?.beforeLogin(attempt)
    // A full bcrypt gate refuses now: a flood must not cost a user lookup per refused login
    config.passwords.assertCapacity()
    const account = await config.users.findByUsername(username)
    // Always one bcrypt verification (a dummy hash for unknown users) so timing tells nothing
    const valid = await config.passwords.verify(password, account?.passwordHash ?? null)
    if (!valid || account === null || account.disabled === true) {
      // Account protection: count the failure (same for every reason, so throttling reveals nothing) and emit the event
      await config.protection?.loginFailed(attempt, account?.id ?? null, loginFailureReason(account, valid))
      throw new InvalidGrantError(BAD_CREDENTIALS)
    }
    await config.protection?.loginSucceeded(attempt, account.id)
    const allowed = (account.scopes ?? []).filter((scope) => config.declaredScopes.has(scope))
    const granted = grantScopes(requested, allowed)
    if (requested.length > 0 && granted.length === 0) throw new InvalidScopeError('None of the requested scopes may be granted to this user')
    if (config.onRehash !== undefined && config.passwords.needsRehash(account.passwordHash)) await rehash(account, password)
    return await config.issueTokens({ id: account.id }, granted, client?.id ?? null)
  }
}
