import { InvalidOptionError } from '../errors.js'
import { REMOTE_ALGORITHMS } from '../jwt/remote-jwks.js'
import type { TokenSource } from '../jwt/remote-jwt-verifier.js'
import { bearerScheme, type BearerVerifier } from './bearer-scheme.js'
import { claimedScopes, discoveryIssuers, remoteJwtVerifier, resolveRemoteJwtOptions, type RemoteJwtOptions } from './remote-jwt-options.js'
import type { SchemeFactory } from './scheme-factory.js'
import { isRecord } from '../util/is-record.js'
import { assertOptions, declaredScopes, optionalRealm, optionalText, requiredFunction, secureUrl } from './scheme-options.js'
import type { OAuthFlowObject, SecuritySchemeObject } from './security-scheme.js'

/** JWT access tokens of the authorization server, found through its discovery document. */
export interface DiscoveredJwtOptions extends RemoteJwtOptions {
  /** The server's OpenID discovery document (`<issuer>/.well-known/openid-configuration`). */
  openIdConnectUrl: string
  /** The server's `issuer`, when the URL is not `<issuer>/.well-known/openid-configuration`. */
  issuer?: string
}

/** JWT access tokens of the authorization server, with its JWKS URL given directly. */
export interface JwksJwtOptions extends RemoteJwtOptions {
  /** The server's JSON Web Key Set. */
  jwksUri: string
  /** The `iss` its tokens carry. */
  issuer: string
  /** The algorithms it signs with (no discovery document says it here). */
  algorithms: string[]
}

/** Options of {@link oauth2AuthorizationCode}: the flow for the docs, and one way to check tokens. */
export interface OAuth2AuthorizationCodeOptions<Principal = unknown> {
  /** Where Swagger UI sends the user to authorize (absolute URL or path). */
  authorizationUrl: string
  /** Where Swagger UI exchanges the code for tokens (absolute URL or path). */
  tokenUrl: string
  /** Where tokens are refreshed, if elsewhere. */
  refreshUrl?: string
  /** The server's scopes (name → description), for the docs and for route requirements. */
  scopes: Record<string, string>
  /** Checks a token the app's way (introspection, a database…); or give `jwt`. */
  verify?: BearerVerifier<Principal>
  /** Checks JWT access tokens against the server's keys, as `openIdConnect()` does; or give `verify`. */
  jwt?: DiscoveredJwtOptions | JwksJwtOptions
  /** `realm` of the challenge; the plugin's `realm` by default. */
  realm?: string
  /** Description shown in the OpenAPI document. */
  description?: string
}

function flowUrl (option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw new InvalidOptionError(option, 'must be an absolute URL or a path')
  try {
    // OpenAPI 3: flow URLs may be relative to the server
    new URL(value, 'http://server.invalid') // eslint-disable-line no-new
  } catch {
    throw new InvalidOptionError(option, 'must be an absolute URL or a path')
  }
  return value
}

function tokenSource (jwt: Record<string, unknown>): TokenSource {
  const prefix = 'oauth2AuthorizationCode().jwt'
  if ((jwt.openIdConnectUrl === undefined) === (jwt.jwksUri === undefined)) {
    throw new InvalidOptionError(prefix, 'needs exactly one of openIdConnectUrl and jwksUri')
  }
  const issuer = optionalText(`${prefix}.issuer`, jwt.issuer)
  if (jwt.openIdConnectUrl !== undefined) {
    const discovery = secureUrl(`${prefix}.openIdConnectUrl`, jwt.openIdConnectUrl)
    return { discovery, issuers: discoveryIssuers(`${prefix}.issuer`, discovery, issuer) }
  }
  const jwksUri = secureUrl(`${prefix}.jwksUri`, jwt.jwksUri)
  if (issuer === undefined) throw new InvalidOptionError(`${prefix}.issuer`, 'is required with jwksUri')
  const { algorithms } = jwt
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((algorithm) => REMOTE_ALGORITHMS.has(algorithm))) {
    throw new InvalidOptionError(`${prefix}.algorithms`, `is required with jwksUri: a non-empty list of ${[...REMOTE_ALGORITHMS].join(', ')}`)
  }
  return { jwksUri, issuer, algorithms: [...algorithms] }
}

/**
 * OAuth2 authorization-code flow, as FastAPI's `OAuth2AuthorizationCodeBearer`:
 * documented with its `authorizationUrl` and `tokenUrl` (Swagger UI's Authorize
 * button runs the flow against your authorization server), enforced on
 * `Authorization: Bearer` tokens, which `verify` checks or which are verified as
 * JWTs against the server's keys (`jwt`, as `openIdConnect()` does). Answers as
 * RFC 6750 describes, like the password flow's bearer tokens.
 *
 * @example
 * securitySchemes: {
 *   Corporate: oauth2AuthorizationCode({
 *     authorizationUrl: 'https://sso.example.com/authorize',
 *     tokenUrl: 'https://sso.example.com/token',
 *     scopes: { 'reports:read': 'Read reports' },
 *     jwt: { openIdConnectUrl: 'https://sso.example.com/.well-known/openid-configuration', audience: 'reports-api' }
 *   })
 * }
 */
export function oauth2AuthorizationCode<Principal = unknown> (options: OAuth2AuthorizationCodeOptions<Principal>): SchemeFactory {
  const prefix = 'oauth2AuthorizationCode()'
  assertOptions(prefix, options)
  const flow: OAuthFlowObject = {
    authorizationUrl: flowUrl(`${prefix}.authorizationUrl`, options.authorizationUrl),
    tokenUrl: flowUrl(`${prefix}.tokenUrl`, options.tokenUrl),
    ...(options.refreshUrl === undefined ? {} : { refreshUrl: flowUrl(`${prefix}.refreshUrl`, options.refreshUrl) }),
    scopes: { ...declaredScopes(`${prefix}.scopes`, options.scopes) }
  }
  const realm = optionalRealm(`${prefix}.realm`, options.realm)
  const description = optionalText(`${prefix}.description`, options.description)
  if ((options.verify === undefined) === (options.jwt === undefined)) throw new InvalidOptionError(prefix, 'needs exactly one of verify and jwt')
  const verify = options.verify === undefined ? undefined : requiredFunction<BearerVerifier>(`${prefix}.verify`, options.verify)
  const jwt = options.jwt
  if (jwt !== undefined && !isRecord(jwt)) throw new InvalidOptionError(`${prefix}.jwt`, 'must be an object')
  const source = jwt === undefined ? undefined : tokenSource(jwt as unknown as Record<string, unknown>)
  const remote = jwt === undefined ? undefined : resolveRemoteJwtOptions(`${prefix}.jwt`, jwt as unknown as Record<string, unknown>)
  const document: SecuritySchemeObject = { type: 'oauth2', ...(description === undefined ? {} : { description }), flows: { authorizationCode: flow } }

  return function buildOAuth2AuthorizationCode (name, context) {
    let check: BearerVerifier
    if (verify !== undefined) {
      check = verify
    } else {
      const verifyJwt = remoteJwtVerifier(source as TokenSource, remote as NonNullable<typeof remote>, context)
      check = async function verifyProviderJwt (token) {
        const claims = await verifyJwt(token)
        return { principal: claims, scopes: claimedScopes(claims), claims }
      }
    }
    return bearerScheme({
      name,
      realm: realm ?? context.realm,
      scopes: new Set(Object.keys(flow.scopes)),
      openapi: () => structuredClone(document),
      verify: check
    })
  }
}
