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

/**
 * A `req` log serializer that leaves out the query parameters named in `names`
 * (those a security scheme reads credentials from: `bearerToken.query`, an API key
 * `in: 'query'`), and keeps the rest of the URL. A pair whose name does not decode
 * is left out too: nothing undecodable can hide a credential's name.
 */
export function requestWithoutParameters (names: ReadonlySet<string>) {
  return function requestWithoutCredentials (request: FastifyRequest): LoggedRequest {
    const url = request.url
    const query = url.indexOf('?')
    if (query === -1) return loggedRequest(request, url)
    const kept = url.slice(query + 1).split('&').filter((pair) => {
      const name = parameterName(pair)
      return name !== null && !names.has(name)
    })
    return loggedRequest(request, kept.length === 0 ? url.slice(0, query) : `${url.slice(0, query)}?${kept.join('&')}`)
  }
}
