import type { FastifyInstance, FastifyRequest } from 'fastify'
import { InvalidOptionError } from './errors.js'
import type { Authentication, SecurityScheme } from './schemes/security-scheme.js'
import type { CurrentUser, ScopeName } from './types.js'

/**
 * Helpers for an app's own tests, what FastAPI's `dependency_overrides` and a
 * signed test token give there: authenticate `app.inject()` requests without
 * real credentials. They act on one app instance and nothing else.
 */

/** What an overridden scheme says a request proved. */
export interface FakeAuthentication<Principal = unknown> {
  principal: Principal
  /** Granted scopes; none by default. */
  scopes?: Iterable<string>
  /** Claims to expose on `request.auth.claims`; `null` by default. */
  claims?: Readonly<Record<string, unknown>> | null
}

/**
 * Stands in for a scheme's check. Return `null` for "no credentials" (401), throw
 * an error of the catalogue to refuse, or call `real` to run the scheme's own check.
 */
export type SchemeOverride<Principal = unknown> = (request: FastifyRequest, real: (request: FastifyRequest) => Promise<Authentication | null>) =>
  FakeAuthentication<Principal> | null | Promise<FakeAuthentication<Principal> | null>

/** Undoes an override. */
export type RestoreOverride = () => void

function schemeOf (app: FastifyInstance, name: string): SecurityScheme {
  const scheme = app.oauth2.schemes.get(name)
  if (scheme === undefined) throw new InvalidOptionError('scheme', `"${name}" is not registered (known: ${[...app.oauth2.schemes.keys()].join(', ')})`)
  return scheme
}

function assertDeclared (scheme: SecurityScheme, scopes: readonly string[]): void {
  for (const scope of scopes) {
    if (scheme.scopes === null || !scheme.scopes.has(scope)) throw new InvalidOptionError('scopes', `"${scope}" is not declared by the scheme "${scheme.name}"`)
  }
}

/**
 * Signs a real access token for `user` with `scopes` (the user's own when left
 * out) using the app's keys, and returns the header that carries it. The request
 * then goes through the whole password-flow check; `findById` must know the user
 * (or combine with {@link overrideCurrentUser}).
 *
 * @example
 * const response = await app.inject({ url: '/users/me', headers: await authenticateAs(app, { id: 'johndoe' }, ['me']) })
 */
export async function authenticateAs (app: FastifyInstance, user: { id: string, scopes?: readonly string[] }, scopes?: readonly ScopeName[]): Promise<{ authorization: string }> {
  const { access_token: token } = await app.oauth2.issueTokens(user, scopes)
  return { authorization: `Bearer ${token}` }
}

/**
 * Replaces how the scheme `schemeName` authenticates requests, for this app,
 * until the returned function is called. Requirements, scopes, challenges and
 * `request.currentUser()` work as usual on what the override returns.
 *
 * @example
 * const restore = overrideScheme(app, 'ApiKey', () => ({ principal: { client: 'test' } }))
 * t.teardown(restore)
 */
export function overrideScheme<Principal = unknown> (app: FastifyInstance, schemeName: string, override: SchemeOverride<Principal>): RestoreOverride {
  const scheme = schemeOf(app, schemeName)
  const real = scheme.authenticate
  const realCheck = async (request: FastifyRequest) => await real.call(scheme, request)
  scheme.authenticate = async function authenticateOverridden (request: FastifyRequest): Promise<Authentication | null> {
    const fake = await override(request, realCheck)
    if (fake === null) return null
    return { scheme: scheme.name, principal: fake.principal, scopes: new Set(fake.scopes ?? []), claims: fake.claims ?? null }
  }
  return function restoreScheme () {
    scheme.authenticate = real
  }
}

/**
 * Makes every request authenticate through the password flow as `user` with
 * `scopes`, credentials or not: FastAPI's `app.dependency_overrides[get_current_user]`.
 * `request.currentUser()` returns `user`; routes still check the scopes.
 *
 * @example
 * const restore = overrideCurrentUser(app, { id: 'test', username: 'test' }, ['me'])
 * t.teardown(restore)
 * const response = await app.inject({ url: '/users/me' }) // 200, no header needed
 */
export function overrideCurrentUser (app: FastifyInstance, user: CurrentUser, scopes: readonly ScopeName[] = []): RestoreOverride {
  assertDeclared(schemeOf(app, app.oauth2.schemeName), scopes)
  return overrideScheme(app, app.oauth2.schemeName, () => ({ principal: user, scopes }))
}
