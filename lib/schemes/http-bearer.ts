import { bearerScheme, type BearerVerifier } from './bearer-scheme.js'
import type { SchemeFactory } from './scheme-factory.js'
import { assertOptions, declaredScopes, optionalRealm, optionalText, requiredFunction } from './scheme-options.js'
import type { SecuritySchemeObject } from './security-scheme.js'

export type { BearerVerification, BearerVerifier } from './bearer-scheme.js'

/** Options of {@link httpBearer}. */
export interface HttpBearerOptions<Principal = unknown> {
  /**
   * Checks an opaque token (a database or cache lookup, an introspection call):
   * `{ principal, scopes? }` when valid, `null` when not. Throwing an error of the
   * catalogue refuses with it; any other error is a server error.
   */
  verify: BearerVerifier<Principal>
  /** A hint for the docs (`bearerFormat`), e.g. `'opaque'` or `'JWT'`. */
  bearerFormat?: string
  /** Scopes tokens may grant (name → description); routes may only require these. None by default. */
  scopes?: Record<string, string>
  /** `realm` of the challenge; the plugin's `realm` by default. */
  realm?: string
  /** Description shown in the OpenAPI document. */
  description?: string
}

/**
 * HTTP Bearer with tokens this app checks itself (RFC 6750, OpenAPI `http`/`bearer`),
 * apart from the password flow's JWTs: `Authorization: Bearer <token>`, `verify`
 * says who it is. Missing token: 401 with `Bearer realm="…"`; malformed header: 400
 * `invalid_request`; refused token: 401 `invalid_token`; missing scope: 403
 * `insufficient_scope`.
 *
 * @example
 * securitySchemes: {
 *   ServiceToken: httpBearer({
 *     bearerFormat: 'opaque',
 *     scopes: { reports: 'Read reports' },
 *     verify: async (token) => {
 *       const row = await db.tokenByHash(sha256(token))
 *       return row === null ? null : { principal: { service: row.service }, scopes: row.scopes }
 *     }
 *   })
 * }
 */
export function httpBearer<Principal = unknown> (options: HttpBearerOptions<Principal>): SchemeFactory {
  assertOptions('httpBearer()', options)
  const verify = requiredFunction<BearerVerifier>('httpBearer().verify', options.verify)
  const bearerFormat = optionalText('httpBearer().bearerFormat', options.bearerFormat)
  const scopes = options.scopes === undefined ? null : new Set(Object.keys(declaredScopes('httpBearer().scopes', options.scopes)))
  const realm = optionalRealm('httpBearer().realm', options.realm)
  const description = optionalText('httpBearer().description', options.description)

  return function buildHttpBearer (name, context) {
    const document: SecuritySchemeObject = {
      type: 'http',
      scheme: 'bearer',
      ...(bearerFormat === undefined ? {} : { bearerFormat }),
      ...(description === undefined ? {} : { description })
    }
    return bearerScheme({
      name,
      realm: realm ?? context.realm,
      scopes,
      openapi: () => structuredClone(document),
      verify
    })
  }
}
