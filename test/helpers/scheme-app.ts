import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { registerPlugin, seedUsers, testFastify, type TestUser } from './build-app.js'

export interface SchemeApp {
  app: FastifyInstance
  users: Map<string, TestUser>
}

/**
 * An app with @fastify/swagger (registered first, so `app.swagger()` shows the
 * document), the plugin over the seeded users, `options` on top, and `routes`; `server`
 * are Fastify's options.
 */
export async function buildSchemeApp (
  options: Partial<OAuth2PasswordOptions>,
  routes: (app: FastifyInstance) => void | Promise<void>,
  server: FastifyServerOptions = {}
): Promise<SchemeApp> {
  const users = seedUsers()
  const app = testFastify(server)
  await app.register(swagger, { openapi: { openapi: '3.1.0', info: { title: 'test', version: '1.0.0' } } })
  await registerPlugin(app, users, options)
  await routes(app)
  await app.ready()
  return { app, users }
}

/** A handler that answers what authenticated the request. */
export async function whoami (request: import('fastify').FastifyRequest): Promise<unknown> {
  const auth = request.auth
  return auth === null ? { scheme: null } : { scheme: auth.scheme, principal: auth.principal, scopes: [...auth.scopes] }
}

/** The Fastify error body for a refusal. */
export function errorBody (statusCode: number, code: string, message: string): Record<string, unknown> {
  const error = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 503: 'Service Unavailable' }[statusCode]
  return { statusCode, code, error, message }
}

/** The parts of the OpenAPI document the scheme tests read. */
export interface OpenApiDocument {
  components: { securitySchemes: Record<string, unknown> }
  paths: Record<string, Record<string, { security?: unknown, responses: Record<string, unknown> }>>
}

/** The app's OpenAPI document, as @fastify/swagger builds it. */
export function openapi (app: FastifyInstance): OpenApiDocument {
  return app.swagger() as unknown as OpenApiDocument
}
