import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify'
import { quietRefusal } from '../util/quiet-refusal.js'

/**
 * Fastify's request log line, without the query string: a client that puts
 * `username` and `password` in the URL of the token endpoint must not get them
 * written to the log (RFC 6749 §3.2: credentials travel in the POST body only).
 */
export function requestWithoutQuery (request: FastifyRequest): Record<string, unknown> {
  const url = request.url
  const query = url.indexOf('?')
  return {
    method: request.method,
    url: query === -1 ? url : url.slice(0, query),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort
  }
}

/** The route options every form endpoint route takes: its log line never carries the query. */
export const FORM_ROUTE_LOG = { logSerializers: { req: requestWithoutQuery } } as const

// OPTIONS stays free for CORS preflight (@fastify/cors answers it); HEAD, which has no body to
// echo a query into, stays free for the OpenAPI carrier route of openapi/security-schemes.ts
const OTHER_METHODS: HTTPMethods[] = ['GET', 'PUT', 'PATCH', 'DELETE']

/**
 * Answers every method but POST on a form endpoint's path with 405 and `Allow: POST`
 * (RFC 9110 §15.5.6), as an RFC 6749 §5.2 body that echoes nothing of the request:
 * Fastify's 404 would quote the URL, query string and password included.
 */
export function refuseOtherMethods (instance: FastifyInstance, url: string): void {
  instance.route({
    method: OTHER_METHODS,
    url,
    schema: { hide: true },
    // Never in the document, so never handed to the app's global @fastify/swagger transform either
    config: { swaggerTransform: false },
    exposeHeadRoute: false,
    ...FORM_ROUTE_LOG,
    handler: async function methodNotAllowed (request: FastifyRequest, reply: FastifyReply) {
      quietRefusal(request, reply, 405)
      return await reply.code(405).header('allow', 'POST')
        .send({ error: 'invalid_request', error_description: 'This endpoint accepts only POST' })
    }
  })
}
