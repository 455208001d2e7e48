import type { FastifyInstance } from 'fastify'
import type { JsonWebKeySet } from '../jwt/access-tokens.js'
import { OAUTH2_TAG, operationIdOf } from '../openapi/operation-id.js'

/** How long clients may cache the key set: short enough that a rotation is picked up within minutes. */
const JWKS_MAX_AGE_SECONDS = 300

/** Where the key set is served: the customary path, which resource servers look up without configuration. */
export const JWKS_PATH = '/.well-known/jwks.json'

/**
 * `GET /.well-known/jwks.json`: the public keys that verify this server's access
 * tokens (RFC 7517 §5), so resource servers elsewhere can check them. Only served
 * when the keys are asymmetric: an HMAC secret is never published.
 */
export function jwksRoute (keySet: JsonWebKeySet) {
  return async function jwksRoutePlugin (instance: FastifyInstance): Promise<void> {
    instance.get(JWKS_PATH, {
      schema: {
        summary: 'Public keys of the access tokens (JWKS)',
        operationId: operationIdOf(`${instance.prefix}${JWKS_PATH}`),
        tags: [OAUTH2_TAG],
        security: [],
        response: {
          200: {
            description: 'JSON Web Key Set (RFC 7517 §5)',
            type: 'object',
            properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } },
            required: ['keys']
          }
        }
      }
    }, async function jwks (_request, reply) {
      reply.header('cache-control', `public, max-age=${JWKS_MAX_AGE_SECONDS}`)
      return keySet
    })
  }
}
