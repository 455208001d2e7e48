import type { SwaggerTransform } from '@fastify/swagger'
import type { FastifyInstance, FastifySchema } from 'fastify'
import { authenticateClient, type ClientRegistry } from './client-auth.js'
import { InvalidRequestError, UnsupportedGrantTypeError } from '../errors.js'
import type { FormParameters } from '../protocol/form-body.js'
import type { GrantHandler } from './grants/grant.js'
import { formRoute } from './form-route.js'
import type { EndpointRouteOptions } from './route-options.js'

export interface TokenEndpointConfig {
  /** Route path, relative to the registration prefix. */
  readonly url: string
  readonly bodyLimit: number
  readonly grants: ReadonlyMap<string, GrantHandler>
  readonly clients: ClientRegistry | undefined
  /** Require `grant_type` instead of defaulting to `password`. */
  readonly strict: boolean
  readonly realm: string
  /** Route schema (OpenAPI documentation of the form, the answers and the errors). */
  readonly schema: FastifySchema
  /** `@fastify/swagger` hook run for this route: adds the security schemes to the document. */
  readonly swaggerTransform: SwaggerTransform
  /** The app's route options (`tokenRoute`): config, hooks, documentation. */
  readonly route: Readonly<EndpointRouteOptions>
}

function grantType (parameters: FormParameters, strict: boolean): string {
  const value = parameters.grant_type
  if (value !== undefined) return value
  if (strict) throw new InvalidRequestError('The grant_type parameter is missing')
  // FastAPI's OAuth2PasswordRequestForm makes grant_type optional and implies "password"
  return 'password'
}

/**
 * The token endpoint (RFC 6749 §3.2) as an encapsulated plugin: its form parser,
 * its error rendering and its no-store headers never leak into the app.
 */
export function tokenEndpoint (config: TokenEndpointConfig) {
  return async function tokenEndpointPlugin (instance: FastifyInstance): Promise<void> {
    formRoute(instance, { ...config, config: { swaggerTransform: config.swaggerTransform } }, async function token (request) {
      const parameters = (request.body ?? Object.create(null)) as FormParameters
      const type = grantType(parameters, config.strict)
      const client = authenticateClient(request.headers.authorization, parameters, config.clients, type)
      const grant = config.grants.get(type)
      if (grant === undefined) throw new UnsupportedGrantTypeError()
      return await grant({ parameters, client, request })
    })
  }
}
