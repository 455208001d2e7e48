import type { FastifyBaseLogger } from 'fastify'
import type { PasswordHasher } from '../passwords/password-hasher.js'
import type { VerifyLogin } from '../passwords/verify-login.js'
import type { LoginProtection } from '../protection/login-protection.js'
import type { CurrentUser, UserStore } from '../types.js'
import type { SharedNonceCounts } from './digest-nonces.js'
import type { SecurityScheme } from './security-scheme.js'

/** What the plugin hands every scheme when it builds it. */
export interface SchemeContext {
  /** The app's user store, for schemes that log users in with a password (HTTP Basic). */
  readonly users: UserStore<CurrentUser>
  /** The bcrypt hasher with its timing equality and concurrency gate. */
  readonly passwords: PasswordHasher
  /** The plugin's one login check (the password grant's): account, bcrypt, account policy, rehash. */
  readonly verifyLogin: VerifyLogin
  /** Default `realm` of challenges. */
  readonly realm: string
  /** The plugin's declared scopes (name → description): those a user account may hold (HTTP Basic). */
  readonly scopes: Readonly<Record<string, string>>
  readonly log: FastifyBaseLogger
  /**
   * The plugin's `store` when the app gave one (shared by its instances): HTTP Digest
   * keeps its nonce-counts there, so a replay is caught on every instance. Absent:
   * counts stay in the scheme's process.
   */
  readonly nonceCounts?: SharedNonceCounts
  /** Login throttling and security events, for schemes that check passwords (HTTP Basic, HTTP Digest). */
  readonly loginProtection: LoginProtection
}

/**
 * What `apiKey()`, `httpBasic()`… return: a builder the plugin calls with the
 * scheme's name (its key in `securitySchemes`) once options are resolved.
 */
export type SchemeFactory = (name: string, context: SchemeContext) => SecurityScheme
