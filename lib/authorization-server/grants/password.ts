import { InvalidGrantError, InvalidRequestError } from '../../errors.js'
import { BCRYPT_MAX_PASSWORD_BYTES } from '../../passwords/bcrypt.js'
import { exceedsPasswordLimit } from '../../passwords/password-hashing.js'
import type { VerifyLogin } from '../../passwords/verify-login.js'
import type { LoginAttempt, LoginProtection } from '../../protection/login-protection.js'
import type { IssueTokens } from '../../tokens/token-response.js'
import type { GrantHandler } from './grant.js'
import { requestedScopes, requireParameter } from './requested-scope.js'

export interface PasswordGrantConfig {
  readonly verifyLogin: VerifyLogin
  readonly declaredScopes: ReadonlySet<string>
  readonly issueTokens: IssueTokens
  /** Longest password in UTF-8 bytes (the hasher's `maxPasswordBytes`): 72 for bcrypt, `null` for none. Default 72. */
  readonly maxPasswordBytes?: number | null
  /** Login throttling and security events around the password check (absent: neither). */
  readonly protection?: LoginProtection
}

// One answer for unknown user, wrong password and disabled account (RFC 6749 §10.12 spirit: no account probing)
const BAD_CREDENTIALS = 'Incorrect username or password'
// NUL ends the password in many bcrypt implementations; control characters have no place in a username
const CONTROL = /[\x00-\x1F\x7F]/ // eslint-disable-line no-control-regex

function checkLoginInput (username: string, password: string, maxPasswordBytes: number | null): void {
  if (CONTROL.test(username)) throw new InvalidRequestError('The username parameter is malformed')
  if (password.includes('\0')) throw new InvalidRequestError('The password parameter is malformed')
  // Said here rather than answered like a wrong password: the client can tell its user why
  if (exceedsPasswordLimit(password, maxPasswordBytes)) {
    throw new InvalidRequestError(`The password parameter is longer than ${maxPasswordBytes} bytes`)
  }
}

/** The resource owner password credentials grant (RFC 6749 §4.3). */
export function passwordGrant (config: PasswordGrantConfig): GrantHandler {
  const maxPasswordBytes = config.maxPasswordBytes === undefined ? BCRYPT_MAX_PASSWORD_BYTES : config.maxPasswordBytes
  return async function handlePasswordGrant ({ parameters, client, request }) {
    const username = requireParameter(parameters, 'username')
    const password = requireParameter(parameters, 'password')
    checkLoginInput(username, password, maxPasswordBytes)
    const requested = requestedScopes(parameters, config.declaredScopes)
    // Account protection: a throttled attempt gets its 429 before any user lookup or bcrypt work
    const attempt: LoginAttempt = { request, username, clientId: client?.id ?? null, mechanism: 'password_grant' }
    await config.protection?.beforeLogin(attempt)
    const login = await config.verifyLogin(username, password, requested)
    if (login.account === null) {
      // Counted the same whatever the reason, so throttling reveals nothing; the reason goes to the event only
      await config.protection?.loginFailed(attempt, login.userId, login.reason)
      throw new InvalidGrantError(BAD_CREDENTIALS)
    }
    await config.protection?.loginSucceeded(attempt, login.id)
    return await config.issueTokens({ id: login.id }, login.scopes, client?.id ?? null)
  }
}
