import type { FastifyInstance, FastifySchema } from 'fastify'
import type { AccessTokenClaims, AccessTokens } from './access-tokens.js'
import { authenticateClient, type AuthenticatedClient, type ClientRegistry } from './client-auth.js'
import { InvalidRequestError, UnsupportedTokenTypeError } from './errors.js'
import type { FormParameters } from './form-body.js'
import { requireParameter } from './grants/requested-scope.js'
import { parseRefreshToken, type RefreshTokens } from './refresh-tokens.js'
import type { Revocation } from './revocation.js'
import { documentationOnly, useFormEndpoint } from './token-endpoint.js'

/** Revokes refresh and access tokens, for the RFC 7009 route and for `app.oauth2.revokeToken()`. */
export interface TokenRevoker {
  /**
   * Revokes `token`: a refresh token with its whole family, an access token by
   * `jti`. Unknown, malformed and expired tokens are ignored (RFC 7009 §2.2).
   * With a `client` (`null`: a client that did not identify itself), a token
   * issued to another client is refused (`invalid_request`); `undefined` skips
   * that check (the app itself is asking). An access token while access-token
   * revocation checks are off: `unsupported_token_type`. Store failure: 503.
   */
  revoke (token: string, client?: AuthenticatedClient): Promise<void>
}

export interface TokenRevokerConfig {
  readonly refreshTokens: RefreshTokens | null
  readonly revocation: Revocation
  readonly accessTokens: AccessTokens
}

export interface RevokeEndpointConfig {
  /** Route path, relative to the registration prefix. */
  readonly url: string
  readonly bodyLimit: number
  readonly clients: ClientRegistry | undefined
  readonly realm: string
  readonly revoker: TokenRevoker
}

const OTHER_CLIENT = 'The token was issued to another client'

function verifiedOrNull (accessTokens: AccessTokens, token: string): Readonly<AccessTokenClaims> | null {
  try {
    return accessTokens.verify(token)
  } catch {
    // verify() throws InvalidTokenError whatever is wrong. RFC 7009 §2.2: an invalid token
    // (expired, forged, not ours) is answered like a revoked one
    return null
  }
}

function issuedTo (client: AuthenticatedClient | undefined, tokenClientId: string | null): boolean {
  return client === undefined || (client?.id ?? null) === tokenClientId
}

/** The revocation logic shared by the RFC 7009 endpoint and `app.oauth2.revokeToken()`. */
export function createTokenRevoker (config: TokenRevokerConfig): TokenRevoker {
  const { refreshTokens, revocation, accessTokens } = config

  async function revokeRefreshToken (token: string, client: AuthenticatedClient | undefined, tokens: RefreshTokens): Promise<void> {
    const session = await tokens.find(token)
    if (session === null) return
    // RFC 7009 §2.1: the server verifies that the token was issued to the client asking
    if (!issuedTo(client, session.family.clientId)) throw new InvalidRequestError(OTHER_CLIENT)
    // RFC 7009 §2.1: revoking a refresh token revokes the grant behind it, its access tokens included (by sid)
    await tokens.revoke(session.family)
  }

  async function revoke (token: string, client?: AuthenticatedClient): Promise<void> {
    // The two kinds never look alike (two parts and three), so token_type_hint is not needed to tell them apart
    if (refreshTokens !== null && parseRefreshToken(token) !== null) return await revokeRefreshToken(token, client, refreshTokens)
    const claims = verifiedOrNull(accessTokens, token)
    if (claims === null) return
    // RFC 7009 §2.2.1: a server that cannot revoke access tokens says so
    if (revocation.check === null) throw new UnsupportedTokenTypeError()
    if (!issuedTo(client, claims.client_id ?? null)) throw new InvalidRequestError(OTHER_CLIENT)
    await revocation.revokeAccessToken(claims)
  }

  return { revoke }
}

const ERROR_BODY = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  required: ['error']
} as const

/** The OpenAPI description of the revocation endpoint (RFC 7009 §2.1 request, §2.2 answers). */
function revokeRouteSchema (): FastifySchema {
  return {
    summary: 'Revoke a token',
    description: 'OAuth 2.0 token revocation (RFC 7009). Revokes a refresh token with every token of its family, or an access token. ' +
      'Unknown, invalid and expired tokens are answered 200 too. Client credentials go in the form or in an `Authorization: Basic` header, as at the token endpoint.',
    security: [],
    consumes: ['application/x-www-form-urlencoded'],
    body: {
      type: 'object',
      properties: {
        token: { type: 'string', description: 'The refresh or access token to revoke' },
        token_type_hint: { type: 'string', enum: ['refresh_token', 'access_token'], description: 'Optional; the server recognises the token type itself' },
        client_id: { type: 'string' },
        client_secret: { type: 'string', format: 'password' }
      },
      required: ['token']
    },
    response: {
      200: { description: 'Revoked, or not a valid token (RFC 7009 §2.2); empty body', type: 'null' },
      400: { description: 'Malformed request, token of another client, or access-token revocation not supported (RFC 7009 §2.2.1)', ...ERROR_BODY },
      401: { description: 'Client authentication failed (RFC 6749 §5.2)', ...ERROR_BODY },
      503: { description: 'The token store is unavailable; retry after the `Retry-After` seconds', ...ERROR_BODY }
    }
  } as FastifySchema
}

/**
 * The revocation endpoint (RFC 7009) as an encapsulated plugin, with the token
 * endpoint's form parsing, client authentication and error rendering.
 */
export function revokeEndpoint (config: RevokeEndpointConfig) {
  return async function revokeEndpointPlugin (instance: FastifyInstance): Promise<void> {
    useFormEndpoint(instance, config.bodyLimit, config.realm)

    instance.post(config.url, {
      schema: revokeRouteSchema(),
      bodyLimit: config.bodyLimit,
      validatorCompiler: documentationOnly
    }, async function revokeToken (request, reply) {
      const parameters = (request.body ?? Object.create(null)) as FormParameters
      // RFC 7009 §2.1: the client authenticates as at the token endpoint
      const client = authenticateClient(request.headers.authorization, parameters, config.clients, null)
      const token = requireParameter(parameters, 'token')
      await config.revoker.revoke(token, client)
      // RFC 7009 §2.2: 200, and the body is ignored
      return reply.code(200).send()
    })
  }
}
