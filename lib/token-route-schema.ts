import type { FastifySchema } from 'fastify'

const TOKEN_ERROR_CODES = [
  'invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client',
  'unsupported_grant_type', 'invalid_scope', 'temporarily_unavailable'
] as const

function errorBody (description: string, codes: readonly string[]) {
  return {
    description,
    type: 'object',
    properties: {
      error: { type: 'string', enum: [...codes] },
      error_description: { type: 'string' }
    },
    required: ['error']
  }
}

/**
 * The OpenAPI description of the token endpoint (RFC 6749 §4.3.2 request,
 * §5.1 answer, §5.2 errors). The form itself is checked by the endpoint's own
 * parser, so this schema documents and serializes but never validates.
 */
export function tokenRouteSchema (grantTypes: readonly string[]): FastifySchema {
  return {
    summary: 'Obtain an access token',
    description: 'OAuth 2.0 token endpoint (RFC 6749 §3.2). Send the form with `application/x-www-form-urlencoded`; client credentials go in the form or in an `Authorization: Basic` header.',
    security: [],
    consumes: ['application/x-www-form-urlencoded'],
    body: {
      type: 'object',
      properties: {
        grant_type: { type: 'string', enum: [...grantTypes], description: 'The grant; `password` when left out (unless the server is strict)' },
        username: { type: 'string' },
        password: { type: 'string', format: 'password' },
        scope: { type: 'string', description: 'Space-delimited scopes to request' },
        client_id: { type: 'string' },
        client_secret: { type: 'string', format: 'password' }
      }
    },
    response: {
      200: {
        description: 'Tokens issued (RFC 6749 §5.1)',
        type: 'object',
        properties: {
          access_token: { type: 'string' },
          token_type: { type: 'string', enum: ['bearer'] },
          expires_in: { type: 'integer' },
          scope: { type: 'string' },
          refresh_token: { type: 'string' }
        },
        required: ['access_token', 'token_type', 'expires_in', 'scope']
      },
      400: errorBody('The request, grant or scope is invalid (RFC 6749 §5.2)', TOKEN_ERROR_CODES.filter((code) => code !== 'invalid_client' && code !== 'temporarily_unavailable')),
      401: errorBody('Client authentication failed (RFC 6749 §5.2)', ['invalid_client']),
      503: errorBody('Too many logins in progress; retry after the `Retry-After` seconds', ['temporarily_unavailable'])
    }
  } as FastifySchema
}
