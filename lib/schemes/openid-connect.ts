import { bearerScheme } from './bearer-scheme.js'
import { claimedScopes, discoveryIssuers, remoteJwtVerifier, resolveRemoteJwtOptions, type RemoteJwtOptions } from './remote-jwt-options.js'
import type { SchemeFactory } from './scheme-factory.js'
import { assertOptions, declaredScopes, optionalRealm, optionalText, secureUrl } from './scheme-options.js'

export type { RemoteJwtOptions } from './remote-jwt-options.js'

/** Options of {@link openIdConnect}. */
export interface OpenIdConnectOptions extends RemoteJwtOptions {
  /** The provider's discovery document: `<issuer>/.well-known/openid-configuration`. https (http only on loopback). */
  openIdConnectUrl: string
  /**
   * The provider's `issuer`. Default: `openIdConnectUrl` without
   * `/.well-known/openid-configuration` (with or without a trailing slash, as
   * providers publish it). Required when the URL has another form.
   */
  issuer?: string
  /** Scopes routes may require (name → description), checked against the token's `scope` or `scp`. None by default. */
  scopes?: Record<string, string>
  /** `realm` of the challenge; the plugin's `realm` by default. */
  realm?: string
  /** Description shown in the OpenAPI document. */
  description?: string
}

/** The claims of a verified provider token: `request.auth.principal` for OpenID Connect. */
export interface ProviderTokenClaims {
  readonly iss: string
  readonly aud: string | readonly string[]
  readonly exp: number
  readonly sub?: string
  readonly [claim: string]: unknown
}

/**
 * OpenID Connect (OpenAPI `openIdConnect`): the route takes `Authorization: Bearer
 * <JWT>` issued by the provider at `openIdConnectUrl`, verified with its published
 * keys. Discovery and JWKS are fetched on first use and cached; an unknown `kid`
 * refetches the keys (rotation); only the provider's asymmetric algorithms are
 * accepted, and `iss`, `aud` and `exp` must be present and right. The principal
 * is the token's claims; scopes come from `scope` or `scp`.
 *
 * Answers like RFC 6750: no token, 401 `Bearer realm="…"`; a bad one, 401
 * `invalid_token`; a missing scope, 403 `insufficient_scope`; provider
 * unreachable, 503 `FST_OAUTH2_AUTHENTICATION_UNAVAILABLE`.
 *
 * @example
 * securitySchemes: {
 *   OpenIdConnect: openIdConnect({ openIdConnectUrl: 'https://accounts.example.com/.well-known/openid-configuration', audience: 'https://api.example.com' })
 * }
 */
export function openIdConnect (options: OpenIdConnectOptions): SchemeFactory {
  assertOptions('openIdConnect()', options)
  const url = secureUrl('openIdConnect().openIdConnectUrl', options.openIdConnectUrl)
  const issuers = discoveryIssuers('openIdConnect().issuer', url, optionalText('openIdConnect().issuer', options.issuer))
  const remote = resolveRemoteJwtOptions('openIdConnect()', options as unknown as Record<string, unknown>)
  const scopes = options.scopes === undefined ? null : new Set(Object.keys(declaredScopes('openIdConnect().scopes', options.scopes)))
  const realm = optionalRealm('openIdConnect().realm', options.realm)
  const description = optionalText('openIdConnect().description', options.description)
  const openIdConnectUrl = options.openIdConnectUrl

  return function buildOpenIdConnect (name, context) {
    const verifyJwt = remoteJwtVerifier({ discovery: url, issuers }, remote, context)
    return bearerScheme({
      name,
      realm: realm ?? context.realm,
      scopes,
      openapi: () => ({ type: 'openIdConnect', openIdConnectUrl, ...(description === undefined ? {} : { description }) }),
      async verify (token) {
        const claims = await verifyJwt(token)
        return { principal: claims, scopes: claimedScopes(claims), claims }
      }
    })
  }
}
