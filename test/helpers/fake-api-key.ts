import type { FastifyRequest } from 'fastify'
import {
  AuthenticationUnavailableError,
  InvalidCredentialsError,
  InvalidRequestError,
  type SchemeFactory,
  type SecurityScheme
} from '../../lib/index.js'

/**
 * A minimal API-key scheme (header `x-api-key`) whose principal is not a user of
 * the store, so tests can mix schemes. `goodKey` authenticates; `down` stands for
 * an unreachable key store, `broken` for a bug in the scheme, `weird` for a
 * request error the ranking does not list; any other key is refused.
 */
export function fakeApiKey (challenge: SecurityScheme['challenge'], goodKey = 'good'): SchemeFactory {
  return (name) => ({
    name,
    resolvesUser: false,
    scopes: null,
    openapi: () => ({ type: 'apiKey', name: 'x-api-key', in: 'header' }),
    async authenticate (request: FastifyRequest) {
      const key = request.headers['x-api-key']
      if (key === undefined) return null
      if (key === 'down') throw new AuthenticationUnavailableError()
      if (key === 'broken') throw new TypeError('bug in the scheme')
      if (key === 'weird') throw new InvalidRequestError('The API key request is odd')
      if (key !== goodKey) throw new InvalidCredentialsError('The API key is invalid')
      return { scheme: name, principal: { service: 'billing' }, scopes: new Set<string>(), claims: null }
    },
    challenge
  })
}
