import type { FastifySchema, RouteOptions } from 'fastify'
import type { CompiledRequirement } from './requirements.js'
import type { SecurityScheme, SecuritySchemeObject } from './schemes/security-scheme.js'

/** Fastify's error body, as protected routes answer it. */
const ERROR_BODY = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' }
  },
  required: ['statusCode', 'code', 'error', 'message']
} as const

const CHALLENGE_HEADER = {
  'WWW-Authenticate': { type: 'string', description: 'One challenge per accepted security scheme (RFC 7235 §4.1)' }
} as const

function requiresScopes (requirement: CompiledRequirement): boolean {
  return requirement.alternatives.some((alternative) => alternative.some(({ scopes }) => scopes.length > 0))
}

/**
 * Documents the refusals of a protected route (401, and 403 when it needs scopes)
 * in its response schema, unless the route documents them itself.
 */
export function documentProtectedRoute (routeOptions: RouteOptions, requirement: CompiledRequirement): void {
  const schema = (routeOptions.schema ?? {}) as FastifySchema & { response?: Record<string, unknown> }
  const response: Record<string, unknown> = { ...schema.response }
  response['401'] ??= { description: 'Missing or invalid credentials', headers: CHALLENGE_HEADER, ...ERROR_BODY }
  if (requiresScopes(requirement)) {
    response['403'] ??= { description: 'The credentials lack a required scope', headers: CHALLENGE_HEADER, ...ERROR_BODY }
  }
  routeOptions.schema = { ...schema, response }
}

/**
 * Adds the plugin's security schemes to the document `@fastify/swagger` is building.
 * Runs as the `swaggerTransform` of the plugin's own first route, which the document
 * reaches before any route that names these schemes.
 */
export function securitySchemesTransform (schemes: ReadonlyMap<string, SecurityScheme>) {
  return function addSecuritySchemes ({ schema, openapiObject }: { schema: unknown, openapiObject: { components?: { securitySchemes?: Record<string, SecuritySchemeObject> } } }): { schema: unknown } {
    const components = openapiObject.components ?? (openapiObject.components = {})
    const securitySchemes = components.securitySchemes ?? (components.securitySchemes = {})
    for (const [name, scheme] of schemes) securitySchemes[name] ??= scheme.openapi()
    return { schema }
  }
}
