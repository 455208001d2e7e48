import { isDisabled, type AccountAuthorization, type CurrentUser, type UserStore } from '../types.js'
import { isPromiseLike } from '../util/promise-like.js'

/** What an account in good standing may be granted now. */
export interface AccountGrant {
  /**
   * Declared scopes the account holds now, or `null` when the user store does not
   * say (no `findAccountById`, no `scopes` on `findById`'s user): then the token's
   * own scope is the only ceiling.
   */
  readonly scopes: ReadonlySet<string> | null
}

/**
 * The account policy: the one place that says what an account may be granted now
 * and whether it may still use its tokens. Every issuance and every authenticated
 * request asks it; nothing else reads `scopes` or `disabled` off an account.
 */
export interface AccountPolicy {
  /** The grant of an account a login has just found (`findByUsername`); `null` when it is absent or disabled. */
  atLogin (account: AccountAuthorization | null): AccountGrant | null
  /** The grant of an account by id, read now; `null` when it is deleted or disabled. */
  current (id: string): Promise<AccountGrant | null>
  /**
   * Whether the account may still use its tokens, for a request whose user
   * `findById` already returned. Synchronous unless `findAccountById` is async.
   */
  isActive (id: string, user: unknown): boolean | PromiseLike<boolean>
  /**
   * The scopes to grant out of `candidates`: the declared ones the account holds.
   * RFC 6749 §6: a refresh is never wider than the account allows now.
   */
  narrow (grant: AccountGrant, candidates: readonly string[]): string[]
  /**
   * The scopes to grant when none are asked for (RFC 6749 §3.3, the server's default):
   * all the account holds, none when the user store does not say.
   */
  held (grant: AccountGrant): string[]
}

function scopeList (value: unknown): readonly unknown[] | null {
  return Array.isArray(value) ? value : null
}

/** Builds the account policy over the app's user store and the declared scopes. */
export function createAccountPolicy (users: UserStore<CurrentUser>, declaredScopes: ReadonlySet<string>): AccountPolicy {
  const findAccountById = users.findAccountById?.bind(users)

  function grantOf (scopes: readonly unknown[] | null): AccountGrant {
    if (scopes === null) return { scopes: null }
    return { scopes: new Set(scopes.filter((scope): scope is string => typeof scope === 'string' && declaredScopes.has(scope))) }
  }

  function fromAccount (account: AccountAuthorization | null | undefined): AccountGrant | null {
    if (account === null || account === undefined || account.disabled === true) return null
    // An account record without scopes holds none, as at login
    return grantOf(scopeList(account.scopes) ?? [])
  }

  // Without findAccountById, the user object speaks for the account where it can
  function fromUser (user: unknown): AccountGrant | null {
    if (user === null || user === undefined || isDisabled(user)) return null
    return grantOf(scopeList((user as { scopes?: unknown }).scopes))
  }

  return {
    atLogin: fromAccount,
    async current (id) {
      if (findAccountById !== undefined) return fromAccount(await findAccountById(id))
      return fromUser(await users.findById(id))
    },
    isActive (id, user) {
      if (isDisabled(user)) return false
      if (findAccountById === undefined) return true
      const account = findAccountById(id)
      return isPromiseLike(account) ? Promise.resolve(account).then((found) => fromAccount(found) !== null) : fromAccount(account) !== null
    },
    narrow (grant, candidates) {
      const held = grant.scopes
      return candidates.filter((scope) => declaredScopes.has(scope) && (held === null || held.has(scope)))
    },
    held (grant) {
      return grant.scopes === null ? [] : [...grant.scopes]
    }
  }
}

/**
 * The account id as the token's `sub` carries it: a non-empty string as it is, a
 * safe integer or a bigint (a SQL integer primary key) as its decimal string, so
 * `findById`, `findAccountById` and `revokeAllForUser` then receive that string.
 * Anything else is `null`: the login is refused before anything is written.
 */
export function accountId (id: unknown): string | null {
  if (typeof id === 'string') return id === '' ? null : id
  if (typeof id === 'bigint' || (typeof id === 'number' && Number.isSafeInteger(id))) return String(id)
  return null
}
