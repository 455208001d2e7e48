import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { SecurityEventDetails, SecurityEvents } from './security-events.js'

// The refusals that are security events of their own, by catalogue code
const EVENT_OF_CODE: Readonly<Record<string, Pick<SecurityEventDetails, 'event' | 'reason' | 'mechanism'>>> = {
  FST_OAUTH2_INVALID_TOKEN: { event: 'authn_token_invalid', reason: 'invalid_token', mechanism: 'bearer' },
  FST_OAUTH2_INSUFFICIENT_SCOPE: { event: 'authz_fail', reason: 'insufficient_scope', mechanism: 'bearer' },
  FST_OAUTH2_REFRESH_TOKEN_REUSED: { event: 'authn_token_reuse', reason: 'refresh_token_reuse', mechanism: 'refresh_token_grant' }
}

function stringProperty (value: unknown, name: string): string | null {
  const property = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined
  return typeof property === 'string' ? property : null
}

// What the request already proved about its principal: the verified claims' sub and client_id, else nothing
function knownIdentity (request: FastifyRequest, error: FastifyError): { userId: string | null, clientId: string | null } {
  const claims = request.auth?.claims ?? null
  return {
    userId: stringProperty(error, 'userId') ?? stringProperty(claims, 'sub'),
    clientId: stringProperty(claims, 'client_id')
  }
}

/**
 * The onError hook that turns refusals into security events: an invalid token
 * (`authn_token_invalid`), a missing scope (`authz_fail`), a reused refresh token
 * (`authn_token_reuse`). Login events are emitted where passwords are checked.
 */
export function securityEventsOnError (events: SecurityEvents) {
  return async function emitRefusalEvent (request: FastifyRequest, _reply: FastifyReply, error: FastifyError): Promise<void> {
    const kind = EVENT_OF_CODE[error.code]
    if (kind !== undefined) events(request, { ...kind, ...knownIdentity(request, error) })
  }
}
