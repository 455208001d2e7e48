import type { FastifyRequest } from 'fastify'
import { isBasicAuthorization, parseBasicCredentials } from '../protocol/basic-credentials.js'
import { formatChallenge } from '../protocol/challenge.js'
import { InvalidCredentialsError, InvalidOptionError, type AuthenticationError } from '../errors.js'
import type { LoginAttempt } from '../protection/login-protection.js'
import { isDisabled } from '../types.js'
import type { SchemeContext, SchemeFactory } from './scheme-factory.js'
import { assertOptions, optionalRealm, optionalText } from './scheme-options.js'
import type { Authentication, SecurityScheme } from './security-scheme.js'
import { NO_SCOPES, ScopeSet } from '../protocol/scopes.js'

/**
 * Checks a user-id and password: the principal, or `null`/`undefined` when they
 * are wrong. Timing equality is then the callback's job.
 */
export type BasicVerifier<Principal = unknown> = (userId: string, password: string, request: FastifyRequest) =>
  Principal | null | undefined | Promise<Principal | null | undefined>

/** Options of {@link httpBasic}. */
export interface HttpBasicOptions<Principal = unknown> {
  /** `realm` of the challenge (RFC 7617 §2); the plugin's `realm` by default. */
  realm?: string
  /**
   * Checks the credentials instead of the plugin's user store. The principal is
   * then whatever it returns, `request.currentUser()` does not see it, and the
   * scheme has no scopes.
   */
  verify?: BasicVerifier<Principal>
  /** Description shown in the OpenAPI document. */
  description?: string
}

// One answer for unknown user, wrong password and disabled account, as the token endpoint gives
const BAD_CREDENTIALS = 'Incorrect username or password'

type Verification = { principal: unknown, scopes: ReadonlySet<string> } | null

/**
 * The default check: the plugin's one login check, the password grant's (one
 * password check padded to the same work whatever the user, the same bounded gate, the account
 * policy, `onRehash`); the principal is the user `findById` returns, never the
 * account with its hash.
 */
function userStoreVerifier (context: SchemeContext): (userId: string, password: string) => Promise<Verification> {
  return async function verifyWithUserStore (userId, password) {
    const login = await context.verifyLogin(userId, password)
    if (login.account === null) return null
    const user = await context.users.findById(login.id)
    if (user === null || user === undefined || isDisabled(user)) return null
    return { principal: user, scopes: new ScopeSet(login.scopes) }
  }
}

// The user id of a principal that has one (the plugin's users do), for the security event
function principalId (principal: unknown): string | null {
  const id = (principal as { id?: unknown }).id
  return typeof id === 'string' ? id : null
}

function callbackVerifier (verify: BasicVerifier): (userId: string, password: string, request: FastifyRequest) => Promise<Verification> {
  return async function verifyWithCallback (userId, password, request) {
    const principal = await verify(userId, password, request)
    return principal === null || principal === undefined ? null : { principal, scopes: NO_SCOPES }
  }
}

/**
 * HTTP Basic (RFC 7617, OpenAPI `http`/`basic`). Credentials are decoded strictly:
 * canonical base64, UTF-8, a colon, no control characters; anything else is 401,
 * like wrong credentials. The challenge is `Basic realm="…", charset="UTF-8"`
 * (RFC 7617 §2.1).
 *
 * By default users log in against the plugin's user store (bcrypt or Argon2id), exactly as
 * at the token endpoint: `request.currentUser()` returns the user and the scopes
 * are the account's (routes may require the plugin's declared scopes). With
 * `verify`, the app checks the credentials itself.
 *
 * @example
 * securitySchemes: { Basic: httpBasic() }
 * app.get('/basic/me', { schema: { security: [{ Basic: [] }] } }, (request) => request.currentUser())
 */
export function httpBasic<Principal = unknown> (options: HttpBasicOptions<Principal> = {}): SchemeFactory {
  assertOptions('httpBasic()', options)
  const realm = optionalRealm('httpBasic().realm', options.realm)
  const description = optionalText('httpBasic().description', options.description)
  if (options.verify !== undefined && typeof options.verify !== 'function') {
    throw new InvalidOptionError('httpBasic().verify', 'must be a function')
  }
  const custom = options.verify as BasicVerifier | undefined

  return function buildHttpBasic (name, context): SecurityScheme {
    const verify = custom === undefined ? userStoreVerifier(context) : callbackVerifier(custom)
    // RFC 7617 §2.1: charset="UTF-8" tells the client to encode user-id and password as UTF-8
    const challenge = formatChallenge('Basic', { realm: realm ?? context.realm, charset: 'UTF-8' })

    async function authenticate (request: FastifyRequest): Promise<Authentication | null> {
      const header = request.headers.authorization
      if (header === undefined || !isBasicAuthorization(header)) return null
      const credentials = parseBasicCredentials(header)
      if (credentials === null) throw new InvalidCredentialsError('The Basic credentials are malformed')
      // Account protection: the token endpoint's limits guard this password check too
      const attempt: LoginAttempt = { request, username: credentials.userId, clientId: null, mechanism: 'http_basic' }
      await context.loginProtection.beforeLogin(attempt)
      const verified = await verify(credentials.userId, credentials.password, request)
      if (verified === null) {
        await context.loginProtection.loginFailed(attempt, null, 'invalid_credentials')
        throw new InvalidCredentialsError(BAD_CREDENTIALS)
      }
      await context.loginProtection.loginSucceeded(attempt, principalId(verified.principal))
      return { scheme: name, principal: verified.principal, scopes: verified.scopes, claims: null }
    }

    return {
      name,
      resolvesUser: custom === undefined,
      scopes: custom === undefined ? new Set(Object.keys(context.scopes)) : null,
      openapi: () => ({ type: 'http', scheme: 'basic', ...(description === undefined ? {} : { description }) }),
      authenticate,
      challenge: (_error: AuthenticationError | null) => challenge
    }
  }
}
