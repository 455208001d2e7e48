import type { FastifyInstance, FastifySchema } from 'fastify'
import { FOREIGN_ERROR_FIELDS } from '../openapi/token-operation.js'
import { authenticateClient, type ClientRegistry } from './client-auth.js'
import type { FormParameters } from '../protocol/form-body.js'
import { requireParameter } from './grants/requested-scope.js'
import type { TokenRevoker } from '../tokens/token-revoker.js'
import { formRoute } from './form-route.js'
import type { EndpointRouteOptions } from './route-options.js'
import type { SecurityEvents } from '../protection/security-events.js'
import { OAUTH2_TAG, operationIdOf } from '../openapi/operation-id.js'

export interface RevokeEndpointConfig {
  /** Route path, relative to the registration prefix. */
  readonly url: string
  readonly bodyLimit: number
  readonly clients: ClientRegistry | undefined
  readonly realm: string
  readonly revoker: TokenRevoker
  /** The app's route options (`revokeRoute`): config, hooks, documentation. */
  readonly route: Readonly<EndpointRouteOptions>
  /** Emits `authn_token_revoked` for each revocation request answered 200. */
  readonly events: SecurityEvents
}

const OAUTH2_ERROR_BODY = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' }, ...FOREIGN_ERROR_FIELDS },
  required: ['error']
} as const

/** The OpenAPI description of the revocation endpoint (RFC 7009 §2.1 request, §2.2 answers). */
function revokeRouteSchema (path: string): FastifySchema {
  return {
    summary: 'Revoke a token',
    operationId: operationIdOf(path),
    tags: [OAUTH2_TAG],
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
      400: { description: 'Malformed request, token of another client, or access-token revocation not supported (RFC 7009 §2.2.1)', ...OAUTH2_ERROR_BODY },
      401: { description: 'Client authentication failed (RFC 6749 §5.2)', ...OAUTH2_ERROR_BODY },
      503: { description: 'The token store is unavailable; retry after the `Retry-After` seconds', ...OAUTH2_ERROR_BODY }
    }
  } as FastifySchema
}

/**
 * The revocation endpoint (RFC 7009) as an encapsulated plugin, with the token
 * endpoint's form parsing, client authentication and error rendering.
 */
export function revokeEndpoint (config: RevokeEndpointConfig) {
  return async function revokeEndpointPlugin (instance: FastifyInstance): Promise<void> {
    formRoute(instance, { ...config, schema: revokeRouteSchema(`${instance.prefix}${config.url}`) }, async function revokeToken (request, reply) {
      const parameters = (request.body ?? Object.create(null)) as FormParameters
      // RFC 7009 §2.1: the client authenticates as at the token endpoint
      const client = authenticateClient(request.headers.authorization, parameters, config.clients, null)
      const token = requireParameter(parameters, 'token')
      await config.revoker.revoke(token, client)
      // RFC 7009 §2.2 answers 200 for unknown tokens too, so the event records the request, not a revoked user
      config.events(request, { event: 'authn_token_revoked', reason: 'revocation_request', mechanism: 'revocation', clientId: client?.id ?? null })
      // RFC 7009 §2.2: 200, and the body is ignored
      return reply.code(200).send()
    })
  }
}
