import type { FastifySchema } from 'fastify'
import { TOKEN_ERROR_CODES } from '../errors.js'
import { OAUTH2_TAG, operationIdOf } from './operation-id.js'

type TokenErrorCode = typeof TOKEN_ERROR_CODES[number]

// RFC 6749 §5.1: token responses (and, by the same logic, their errors) must not be cached
const NO_STORE_HEADERS = {
  'Cache-Control': { type: 'string', enum: ['no-store'], description: 'RFC 6749 §5.1: the answer must not be cached' },
  Pragma: { type: 'string', enum: ['no-cache'], description: 'RFC 6749 §5.1: the answer must not be cached (HTTP/1.0 caches)' }
} as const

/**
 * Fastify's error fields, for a refusal another plugin or hook raises on this route (a 429
 * of `@fastify/rate-limit`): the schema also serializes, and must not cut such a body to `error`.
 */
export const FOREIGN_ERROR_FIELDS = {
  statusCode: { type: 'integer', description: 'Only in a refusal by another plugin (Fastify\'s error shape)' },
  code: { type: 'string', description: 'Only in a refusal by another plugin (Fastify\'s error shape)' },
  message: { type: 'string', description: 'Only in a refusal by another plugin (Fastify\'s error shape)' }
} as const

function errorBody (description: string, codes: readonly TokenErrorCode[], headers: Record<string, unknown> = {}) {
  return {
    description,
    headers: { ...NO_STORE_HEADERS, ...headers },
    type: 'object',
    properties: {
      // RFC 6749 §5.2: error is REQUIRED, error_description OPTIONAL (this server always sends one)
      error: { type: 'string', enum: [...codes] },
      error_description: { type: 'string', description: 'Human-readable explanation, for the developer' },
      ...FOREIGN_ERROR_FIELDS
    },
    required: ['error']
  }
}

/**
 * The OpenAPI description of the token endpoint (RFC 6749 §4.3.2 request,
 * §5.1 answer, §5.2 errors) for the given grant types. The form itself is
 * checked by the endpoint's own parser, so the body schema documents and never
 * validates; the response schemas also serialize, and the endpoint's own error
 * handler always fills them.
 */
export function tokenRouteSchema (grantTypes: readonly string[], path: string): FastifySchema {
  const passwordOnly = grantTypes.every((grantType) => grantType === 'password')
  return {
    summary: 'Obtain an access token',
    operationId: operationIdOf(path),
    tags: [OAUTH2_TAG],
    description: 'OAuth 2.0 token endpoint (RFC 6749 §3.2). Send the form as `application/x-www-form-urlencoded`. ' +
      'A client identifies itself with `client_id` (and `client_secret`) in the form, or with an `Authorization: Basic` header (RFC 6749 §2.3.1).',
    security: [],
    consumes: ['application/x-www-form-urlencoded'],
    body: {
      type: 'object',
      properties: {
        grant_type: { type: 'string', enum: [...grantTypes], description: 'The grant (RFC 6749 §4.3.2); taken as `password` when left out, unless the server is strict' },
        username: { type: 'string', description: 'The resource owner\'s username' },
        password: { type: 'string', format: 'password', description: 'The resource owner\'s password' },
        scope: { type: 'string', description: 'Space-delimited scopes to request (RFC 6749 §3.3); all the user\'s scopes when left out' },
        client_id: { type: 'string', description: 'The client identifier, when not sent in an `Authorization: Basic` header' },
        client_secret: { type: 'string', format: 'password', description: 'The client secret of a confidential client, when not sent in an `Authorization: Basic` header' },
        ...(grantTypes.includes('refresh_token') ? { refresh_token: { type: 'string', description: 'The refresh token, for `grant_type=refresh_token` (RFC 6749 §6)' } } : {})
      },
      // RFC 6749 §4.3.2: username and password are REQUIRED for the password grant
      ...(passwordOnly ? { required: ['username', 'password'] } : {})
    },
    response: {
      200: {
        description: 'Tokens issued (RFC 6749 §5.1)',
        headers: NO_STORE_HEADERS,
        type: 'object',
        properties: {
          access_token: { type: 'string', description: 'The access token: a JWT (RFC 9068) to send as `Authorization: Bearer <token>`' },
          token_type: { type: 'string', enum: ['bearer'] },
          expires_in: { type: 'integer', description: 'Lifetime of the access token in seconds' },
          scope: { type: 'string', description: 'The granted scopes, space-delimited' },
          ...(grantTypes.includes('refresh_token') ? { refresh_token: { type: 'string', description: 'Exchange it for new tokens with `grant_type=refresh_token`' } } : {})
        },
        required: ['access_token', 'token_type', 'expires_in', 'scope']
      },
      // RFC 6749 §5.2: 400, including invalid_client for credentials sent in the body
      400: errorBody('The request, grant, scope or body client credentials are invalid (RFC 6749 §5.2)', TOKEN_ERROR_CODES.filter((code) => code !== 'temporarily_unavailable')),
      // RFC 6749 §5.2: a failed Authorization-header client authentication answers 401 with a challenge
      401: errorBody('Client authentication through the Authorization header failed (RFC 6749 §5.2)', ['invalid_client'], {
        'WWW-Authenticate': { type: 'string', description: 'The `Basic` challenge of client authentication (RFC 6749 §2.3.1)' }
      }),
      // RFC 6585 §4: login throttling (account protection); the body keeps RFC 6749 §5.2's shape
      429: errorBody('Too many failed logins from this client address, or for this username from it: login throttling (RFC 6585 §4, `FST_OAUTH2_LOGIN_THROTTLED`). ' +
        'Answered before the password is checked, the same whether the username exists or not', ['temporarily_unavailable'], {
        'Retry-After': { type: 'integer', description: 'Seconds to wait before the next attempt counts (RFC 9110 §10.2.3)' }
      }),
      503: errorBody('Too many logins in progress (RFC 6749 §5.2 `temporarily_unavailable`)', ['temporarily_unavailable'], {
        'Retry-After': { type: 'integer', description: 'Seconds to wait before retrying (RFC 9110 §10.2.3)' }
      })
    }
  } as FastifySchema
}
