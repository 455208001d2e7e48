import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import type { SecurityEventDetails, SecurityEvents } from './security-events.js'

// The refusals that are security events of their own, by catalogue code
const EVENT_OF_CODE: ReadonlyMap<string, Pick<SecurityEventDetails, 'event' | 'reason' | 'mechanism'>> = new Map([
  ['FST_OAUTH2_INVALID_TOKEN', { event: 'authn_token_invalid', reason: 'invalid_token', mechanism: 'bearer' }],
  ['FST_OAUTH2_INSUFFICIENT_SCOPE', { event: 'authz_fail', reason: 'insufficient_scope', mechanism: 'bearer' }],
  ['FST_OAUTH2_REFRESH_TOKEN_REUSED', { event: 'authn_token_reuse', reason: 'refresh_token_reuse', mechanism: 'refresh_token_grant' }]
] as const)

// The user a refusal knows about (a reused refresh token's family names it); a refused bearer token proves nothing
function knownUserId (error: FastifyError): string | null {
  const userId = (error as { userId?: unknown }).userId
  return typeof userId === 'string' ? userId : null
}

/**
 * The onError hook that turns refusals into security events: an invalid token
 * (`authn_token_invalid`), a missing scope (`authz_fail`), a reused refresh token
 * (`authn_token_reuse`). Login events are emitted where passwords are checked.
 */
export function securityEventsOnError (events: SecurityEvents) {
  return async function emitRefusalEvent (request: FastifyRequest, _reply: FastifyReply, error: FastifyError): Promise<void> {
    const kind = EVENT_OF_CODE.get(error.code)
    if (kind !== undefined) events(request, { ...kind, userId: knownUserId(error) })
  }
}
