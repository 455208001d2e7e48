/**
 * Where users come from, and the user type `request.currentUser()` resolves to.
 *
 * Apps name their own user type once, by module augmentation:
 *
 * @example
 * declare module 'fastify-oauth2-password' {
 *   interface OAuth2PasswordTypes { user: { id: string, username: string, email: string } }
 * }
 */

export interface OAuth2PasswordTypes {}

/** Scope names the app declared (see {@link OAuth2PasswordTypes}), or any string. */
export type ScopeName = OAuth2PasswordTypes extends { scopes: infer Scope extends string } ? Scope : string

/** The user shape when the app has not named its own. */
export interface DefaultUser {
  id: string
  disabled?: boolean
}

/** The app's user type (see {@link OAuth2PasswordTypes}). */
export type CurrentUser = OAuth2PasswordTypes extends { user: infer User } ? User : DefaultUser

/**
 * What an account may be granted now: the account policy's one source, read at
 * every issuance (password grant, refresh grant, `app.oauth2.issueTokens`, HTTP
 * Basic) and, for `disabled`, on every authenticated request.
 */
export interface AccountAuthorization {
  /** Scopes this user may be granted now; none when left out. A refresh narrows to them (RFC 6749 §6). */
  scopes?: readonly string[]
  /** A disabled user cannot log in or refresh, and tokens already issued to it stop working. */
  disabled?: boolean
}

/** What the token endpoint needs to check a login. */
export interface UserAccount extends AccountAuthorization {
  /**
   * Stable user id: becomes the token's `sub` and is passed to `findById`. An
   * integer returned here anyway (a SQL primary key, from JavaScript or a cast) is
   * taken as its decimal string, which is then what `findById` receives.
   */
  id: string
  /** bcrypt or Argon2id hash from `hashPassword()`. */
  passwordHash: string
}

/**
 * A user as routes see it: the app's user type, which must not carry a
 * `passwordHash`. `request.currentUser()` is what handlers return and log, so the
 * database row with its hash (the {@link UserAccount} of `findByUsername`) is a
 * type error here rather than a leaked hash in a response.
 */
export type PublicUser<User = CurrentUser> = User & { readonly passwordHash?: never }

/**
 * The app's user lookups. All may be sync or async; `null` means "no such user".
 *
 * - `findByUsername` returns the **account**: what a login checks (id, hash, scopes, disabled).
 * - `findById` returns the **user**: what `request.currentUser()` resolves to, without the hash.
 */
export interface UserStore<User = CurrentUser> {
  /** The account a login names, with its password hash and what it may be granted. */
  findByUsername (username: string): UserAccount | null | Promise<UserAccount | null>
  /** The user `request.currentUser()` resolves to. */
  findById (id: string): PublicUser<User> | null | Promise<PublicUser<User> | null>
  /**
   * The account's authorization by id, as `findByUsername` reports it (the same
   * row will do). With it, a refresh, `issueTokens` and every authenticated request
   * read the account's scopes and `disabled` from here. Without it, they read
   * `disabled` and `scopes` from `findById`'s user when it has them.
   */
  findAccountById? (id: string): AccountAuthorization | null | Promise<AccountAuthorization | null>
}

/** Whether a user object returned by `findById` is marked disabled. */
export function isDisabled (user: unknown): boolean {
  return typeof user === 'object' && user !== null && (user as { disabled?: unknown }).disabled === true
}
