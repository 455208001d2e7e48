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

/** The app's user lookups. Both may be sync or async; `null` means "no such user". */
export interface UserStore<User = CurrentUser> {
  findByUsername (username: string): UserAccount | null | Promise<UserAccount | null>
  findById (id: string): User | null | Promise<User | null>
}

/** Whether a user object returned by `findById` is marked disabled. */
export function isDisabled (user: unknown): boolean {
  return typeof user === 'object' && user !== null && (user as { disabled?: unknown }).disabled === true
}
