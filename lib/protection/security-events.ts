import { channel, type Channel } from 'node:diagnostics_channel'
import type { FastifyBaseLogger, FastifyRequest } from 'fastify'

/**
 * The security events this plugin emits, named in the OWASP Logging Vocabulary
 * (OWASP Logging Vocabulary Cheat Sheet: authentication `authn_*`, authorization `authz_*`).
 */
export const SECURITY_EVENT_NAMES = [
  'authn_login_success', 'authn_login_fail', 'authn_login_lock',
  'authn_token_reuse', 'authn_token_revoked', 'authn_token_invalid', 'authz_fail'
] as const

/** One of {@link SECURITY_EVENT_NAMES}. */
export type SecurityEventName = typeof SECURITY_EVENT_NAMES[number]

/** How the credentials were presented. */
export type SecurityEventMechanism = 'password_grant' | 'refresh_token_grant' | 'revocation' | 'http_basic' | 'http_digest' | 'bearer'

/**
 * Why the event happened, a stable code:
 * - `authn_login_success`: `valid_credentials`;
 * - `authn_login_fail`: `unknown_user`, `wrong_password`, `account_disabled`, or `invalid_credentials` (HTTP Basic)
 *   where the reasons are not told apart;
 * - `authn_login_lock`: `throttled_username_address`, `throttled_address` (the limit that refused);
 * - `authn_token_reuse`: `refresh_token_reuse` (RFC 9700 §4.14.2, the family is revoked);
 * - `authn_token_revoked`: `revocation_request` (RFC 7009);
 * - `authn_token_invalid`: `invalid_token` (bad, expired, revoked, or its user is gone);
 * - `authz_fail`: `insufficient_scope` (RFC 6750 §3.1).
 */
export type SecurityEventReason =
  | 'valid_credentials' | 'unknown_user' | 'wrong_password' | 'account_disabled' | 'invalid_credentials'
  | 'throttled_username_address' | 'throttled_address'
  | 'refresh_token_reuse' | 'revocation_request' | 'invalid_token' | 'insufficient_scope'

/**
 * A security event. Never carries a password, token, secret, or a hash of one;
 * the username of a failed login is not included either (users type passwords
 * into it), only the user id once an account is known.
 */
export interface SecurityEvent {
  /** The OWASP Logging Vocabulary name. */
  readonly event: SecurityEventName
  /** When it happened: ISO 8601, UTC, milliseconds. */
  readonly time: string
  /** The account's id (`sub`) when known, else `null`. */
  readonly userId: string | null
  /** The client address as Fastify sees it (`request.ip`: `trustProxy` decides). */
  readonly clientAddress: string
  /** The OAuth client (`client_id`) when one identified itself, else `null`. */
  readonly clientId: string | null
  /** Fastify's request id, to join the event to the request's log lines. */
  readonly requestId: string
  /** Why (see {@link SecurityEventReason}). */
  readonly reason: SecurityEventReason
  /** How the credentials were presented. */
  readonly mechanism: SecurityEventMechanism
}

/** What a caller knows about an event; the emitter adds the time, address and request id. */
export interface SecurityEventDetails {
  readonly event: SecurityEventName
  readonly reason: SecurityEventReason
  readonly mechanism: SecurityEventMechanism
  readonly userId?: string | null
  readonly clientId?: string | null
}

/** The `onSecurityEvent` option: called synchronously with each event; what it throws is logged, never answered. */
export type SecurityEventListener = (event: SecurityEvent, request: FastifyRequest) => void

/** Channel every event is published on (`node:diagnostics_channel`). */
export const SECURITY_EVENT_CHANNEL = 'fastify-oauth2-password:security-event'

/** Channel of one event name, e.g. `fastify-oauth2-password:authn_login_fail`. */
export function securityEventChannel (name: SecurityEventName): string {
  return `fastify-oauth2-password:${name}`
}

/** Emits security events to the diagnostics channels and the `onSecurityEvent` listener. */
export type SecurityEvents = (request: FastifyRequest, details: SecurityEventDetails) => void

const allEvents = channel(SECURITY_EVENT_CHANNEL)
const byName = new Map<SecurityEventName, Channel>(SECURITY_EVENT_NAMES.map((name) => [name, channel(securityEventChannel(name))]))

/**
 * Builds the emitter. Publishing costs nothing when no one subscribes
 * (`hasSubscribers`) and no listener is set.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel'
 * subscribe('fastify-oauth2-password:security-event', (event) => console.log(JSON.stringify(event)))
 */
export function createSecurityEvents (listener: SecurityEventListener | undefined, log: FastifyBaseLogger): SecurityEvents {
  return function emitSecurityEvent (request, details) {
    const named = byName.get(details.event) as Channel
    if (listener === undefined && !allEvents.hasSubscribers && !named.hasSubscribers) return
    const event: SecurityEvent = Object.freeze({
      event: details.event,
      time: new Date().toISOString(),
      userId: details.userId ?? null,
      clientAddress: request.ip,
      clientId: details.clientId ?? null,
      requestId: String(request.id),
      reason: details.reason,
      mechanism: details.mechanism
    })
    allEvents.publish(event)
    named.publish(event)
    if (listener === undefined) return
    try {
      listener(event, request)
    } catch (err) {
      // A broken listener must not change the answer, nor hide the event
      log.error({ err, securityEvent: event.event }, 'fastify-oauth2-password: onSecurityEvent threw')
    }
  }
}
