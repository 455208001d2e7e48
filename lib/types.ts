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

/** What the token endpoint needs to check a login. */
export interface UserAccount {
  /** Stable user id: becomes the token's `sub` and is passed to `findById`. */
  id: string
  /** bcrypt hash from `hashPassword()`. */
  passwordHash: string
  /** Scopes this user may be granted; the token gets the requested ones among them. */
  scopes?: readonly string[]
  /** A disabled user cannot log in, and tokens already issued to it stop working. */
  disabled?: boolean
}

/**
 * A user as routes see it: the app's user type, which must not carry a
 * `passwordHash`. `request.currentUser()` is what handlers return and log, so the
 * database row with its hash (the {@link UserAccount} of `findByUsername`) is a
 * type error here rather than a leaked hash in a response.
 */
export type PublicUser<User = CurrentUser> = User & { readonly passwordHash?: never }

/**
 * The app's user lookups. Both may be sync or async; `null` means "no such user".
 *
 * - `findByUsername` returns the **account**: what a login checks (id, hash, scopes, disabled).
 * - `findById` returns the **user**: what `request.currentUser()` resolves to, without the hash.
 */
export interface UserStore<User = CurrentUser> {
  findByUsername (username: string): UserAccount | null | Promise<UserAccount | null>
  findById (id: string): PublicUser<User> | null | Promise<PublicUser<User> | null>
}

/** Whether a user object returned by `findById` is marked disabled. */
export function isDisabled (user: unknown): boolean {
  return typeof user === 'object' && user !== null && (user as { disabled?: unknown }).disabled === true
}
