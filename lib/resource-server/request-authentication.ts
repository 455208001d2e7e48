import { scopeSetOf } from '../protocol/scopes.js'
import type { Authentication } from '../schemes/security-scheme.js'
import type { OAuth2PasswordTypes } from '../types.js'

/**
 * The principal type of each security scheme, by scheme name, when the app
 * declares them (see {@link OAuth2PasswordTypes}); `never` otherwise.
 *
 * @example
 * declare module 'fastify-oauth2-password' {
 *   interface OAuth2PasswordTypes {
 *     principals: { OAuth2PasswordBearer: User, ApiKey: { client: string }, Basic: User }
 *   }
 * }
 */
export type SecurityPrincipals = OAuth2PasswordTypes extends { principals: infer Principals extends object } ? Principals : never

/**
 * One {@link Authentication} per declared scheme, tagged by its literal `scheme`
 * name, so `if (auth.scheme === 'ApiKey')` narrows `auth.principal`. The union is
 * closed: declare every scheme the app registers.
 */
export type AuthenticationOf<Principals extends object> = {
  [Scheme in keyof Principals & string]: Authentication<Principals[Scheme]> & { readonly scheme: Scheme }
}[keyof Principals & string]

/**
 * The type of `request.auth` (when not `null`): narrowed by scheme when the app
 * declares `principals`, the untyped {@link Authentication} otherwise.
 */
export type RequestAuthentication = [SecurityPrincipals] extends [never] ? Authentication : AuthenticationOf<SecurityPrincipals>

/**
 * `auth` as `request.auth` holds it: with scopes that serialize as a list (a
 * `ScopeSet`), whatever set an app's own scheme returned, so logging or
 * returning `request.auth` shows the granted scopes instead of `{}`.
 */
export function requestAuthentication (auth: Authentication): Authentication {
  const scopes = scopeSetOf(auth.scopes)
  return scopes === auth.scopes ? auth : { ...auth, scopes }
}
