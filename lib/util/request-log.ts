import type { FastifyRequest } from 'fastify'

/** What Fastify's request log line shows of a request (its default `req` serializer's fields). */
export type LoggedRequest = Record<string, unknown> & { url: string }

function loggedRequest (request: FastifyRequest, url: string): LoggedRequest {
  return { method: request.method, url, host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }
}

/**
 * Fastify's request log line, without the query string: a client that puts
 * `username` and `password` in the URL of the token endpoint must not get them
 * written to the log (RFC 6749 §3.2: credentials travel in the POST body only).
 */
export function requestWithoutQuery (request: FastifyRequest): LoggedRequest {
  const url = request.url
  const query = url.indexOf('?')
  return loggedRequest(request, query === -1 ? url : url.slice(0, query))
}

// A parameter's name as the query parser reads it ("+" is a space), or null when it does not decode
function parameterName (pair: string): string | null {
  const equals = pair.indexOf('=')
  try {
    return decodeURIComponent((equals === -1 ? pair : pair.slice(0, equals)).replaceAll('+', ' '))
  } catch {
    return null
  }
}

function withoutParameters (url: string, names: ReadonlySet<string>): string {
  const query = url.indexOf('?')
  if (query === -1) return url
  const kept = url.slice(query + 1).split('&').filter((pair) => {
    const name = parameterName(pair)
    return name !== null && !names.has(name)
  })
  return kept.length === 0 ? url.slice(0, query) : `${url.slice(0, query)}?${kept.join('&')}`
}

/** A `req` log serializer: what the logger was configured with (pino keeps it under this symbol). */
type RequestSerializer = (request: FastifyRequest) => unknown
const PINO_SERIALIZERS = Symbol.for('pino.serializers')

/** The logger's own `req` serializer, if it has one (Fastify's default, or the app's). */
export function loggerRequestSerializer (log: object): RequestSerializer | undefined {
  const serializers = (log as Record<symbol, { req?: unknown } | undefined>)[PINO_SERIALIZERS]
  return typeof serializers?.req === 'function' ? serializers.req as RequestSerializer : undefined
}

/**
 * A `req` log serializer that leaves out of the URL the query parameters named in
 * `names` (those a security scheme reads credentials from: `bearerToken.query`,
 * an API key `in: 'query'`), and keeps the rest. A pair whose name does not decode
 * is left out too: nothing undecodable can hide a credential's name. `serializer`,
 * the logger's own (its fields, the app's redactions), then serializes the request
 * as it would have, with that URL.
 */
export function requestWithoutParameters (names: ReadonlySet<string>, serializer?: RequestSerializer) {
  return function requestWithoutCredentials (request: FastifyRequest): unknown {
    const url = withoutParameters(request.url, names)
    if (serializer === undefined) return loggedRequest(request, url)
    // The request as the logger's serializer reads it, but for its URL
    return serializer(url === request.url ? request : Object.create(request, { url: { value: url } }) as FastifyRequest)
  }
}
