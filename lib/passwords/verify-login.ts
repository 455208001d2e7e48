import type { FastifyBaseLogger } from 'fastify'
import { InvalidScopeError } from '../errors.js'
import type { UserAccount, UserStore } from '../types.js'
import { accountId, type AccountGrant, type AccountPolicy } from './account-policy.js'
import type { PasswordHasher } from './password-hasher.js'
import { exceedsPasswordLimit } from './password-hashing.js'

/** What {@link createLoginVerifier} needs: the user store, the gated hasher, the account policy. */
export interface LoginVerifierConfig {
  readonly users: Pick<UserStore, 'findByUsername'>
  readonly passwords: PasswordHasher
  readonly policy: AccountPolicy
  readonly onRehash: ((account: UserAccount, passwordHash: string) => void | Promise<void>) | undefined
  readonly log: FastifyBaseLogger
}

/** A resource owner whose password was right and whose account may log in now. */
export interface VerifiedLogin {
  readonly account: UserAccount
  /** The account id as a string (see `accountId`): the token's `sub`. */
  readonly id: string
  /** The requested scopes the account holds now; all it holds when none were requested (RFC 6749 §3.3). */
  readonly scopes: readonly string[]
}

/** Why a login was refused (the `reason` of the `authn_login_fail` security event); never told to the client. */
export type LoginRefusalReason = 'unknown_user' | 'wrong_password' | 'account_disabled'

/** A refused login: who it was for, when the account exists, and why. */
export interface RefusedLogin {
  readonly account: null
  /** The account's id when the username named one, else `null`. */
  readonly userId: string | null
  readonly reason: LoginRefusalReason
}

/**
 * Checks a resource owner's username and password: the account and what it may be
 * granted, or a {@link RefusedLogin} (`account: null`) for an unknown user, a wrong
 * password or a disabled account; callers give the three one answer (RFC 6749
 * §10.12 spirit: no account probing) and keep the reason for security events. A full
 * hashing gate rejects with `TemporarilyUnavailableError` before any lookup; a right
 * password whose requested scopes the account holds none of rejects with
 * `InvalidScopeError` (RFC 6749 §5.2).
 */
export type VerifyLogin = (username: string, password: string, requested?: readonly string[]) => Promise<VerifiedLogin | RefusedLogin>

function refused (userId: string | null, reason: LoginRefusalReason): RefusedLogin {
  return { account: null, userId, reason }
}

/**
 * The one login check, shared by the password grant (RFC 6749 §4.3) and HTTP
 * Basic (RFC 7617): refuse what bcrypt would truncate, find the account, verify
 * with the gated hasher (padded to the same work whoever asks, so timing tells nothing),
 * ask the account policy, and hand a stronger hash to `onRehash` after a success.
 */
export function createLoginVerifier (config: LoginVerifierConfig): VerifyLogin {
  async function rehash (account: UserAccount, password: string): Promise<void> {
    try {
      await config.onRehash?.(account, await config.passwords.hash(password))
    } catch (error) {
      // A failed upgrade must not fail the login: the old hash still works
      config.log.warn({ err: error }, 'fastify-oauth2-password: onRehash failed')
    }
  }

  function grantedScopes (grant: AccountGrant, requested: readonly string[]): string[] {
    // RFC 6749 §3.3: the server picks a default scope; here, all the account holds
    const granted = config.policy.narrow(grant, requested.length > 0 ? requested : config.policy.held(grant))
    if (requested.length > 0 && granted.length === 0) throw new InvalidScopeError('None of the requested scopes may be granted to this user')
    return granted
  }

  return async function verifyLogin (username, password, requested = []) {
    // bcrypt reads 72 bytes at most: checking a truncated password would accept any suffix
    if (exceedsPasswordLimit(password, config.passwords.maxPasswordBytes)) return refused(null, 'wrong_password')
    // A full hashing gate refuses now: a flood must not cost a user lookup per refused login
    config.passwords.assertCapacity()
    const account = await config.users.findByUsername(username)
    const valid = await config.passwords.verify(password, account?.passwordHash ?? null)
    if (account === null) return refused(null, 'unknown_user')
    if (!valid) return refused(accountId(account.id), 'wrong_password')
    const grant = config.policy.atLogin(account)
    if (grant === null) return refused(accountId(account.id), 'account_disabled')
    const id = accountId(account.id)
    if (id === null) {
      // A store bug, not the user's: said once per login in the log (never the id's value), answered like a failed login
      config.log.error('fastify-oauth2-password: findByUsername returned an account whose id is neither a non-empty string nor an integer')
      return refused(null, 'unknown_user')
    }
    const scopes = grantedScopes(grant, requested)
    // Only a login that succeeds gets here: never a disabled account, never a refused scope
    if (config.onRehash !== undefined && config.passwords.needsRehash(account.passwordHash)) await rehash(account, password)
    return { account, id, scopes }
  }
}
