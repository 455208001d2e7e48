import type { SchemeContext } from './scheme-factory.js'
import { InvalidOptionError } from '../errors.js'
import { REMOTE_ALGORITHMS } from '../jwt/remote-jwks.js'
import { createRemoteJwtVerifier, type RemoteJwtSettings, type RemoteJwtVerifier, type TokenSource } from '../jwt/remote-jwt-verifier.js'
import { positiveSeconds } from './scheme-options.js'

/** How tokens of a remote provider are checked (`openIdConnect()`, `oauth2AuthorizationCode({ jwt })`). */
export interface RemoteJwtOptions {
  /** The `aud` this API answers to: tokens must name it (or one of them). */
  audience: string | string[]
  /** Accepted algorithms, within the provider's own. Default: all the provider lists that are asymmetric. */
  algorithms?: string[]
  /** Clock skew forgiven on `exp` and `nbf`, in seconds. Default 0. */
  clockTolerance?: number
  /** Seconds a fetch of the discovery document or the keys may take. Default 5. */
  timeout?: number
  /** Seconds discovery and keys are kept before they are fetched again. Default 600. */
  cacheTtl?: number
  /** Least seconds between two fetches (a token with an unknown `kid` asks for one). Default 30. */
  refreshCooldown?: number
}

/** {@link RemoteJwtOptions} validated, without the token source. */
export type ResolvedRemoteJwtOptions = RemoteJwtSettings

const DEFAULTS = { timeout: 5, cacheTtl: 600, refreshCooldown: 30 }
// OpenID Connect Discovery 1.0 §4: the discovery document lives at this path under the issuer
const WELL_KNOWN = '/.well-known/openid-configuration'

function isNonEmptyString (value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}

function nonNegativeSeconds (option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidOptionError(option, 'must be a number of seconds, 0 or more')
  return value
}

/** Validates the shared options of remote-JWT schemes; `prefix` names the factory in errors. */
export function resolveRemoteJwtOptions (prefix: string, options: Record<string, unknown>): ResolvedRemoteJwtOptions {
  const { audience, algorithms } = options
  if (!isNonEmptyString(audience) && !(Array.isArray(audience) && audience.length > 0 && audience.every(isNonEmptyString))) {
    throw new InvalidOptionError(`${prefix}.audience`, 'is required: a non-empty string or array of them (RFC 8725 §3.9)')
  }
  if (algorithms !== undefined && !(Array.isArray(algorithms) && algorithms.length > 0 && algorithms.every((algorithm) => REMOTE_ALGORITHMS.has(algorithm)))) {
    throw new InvalidOptionError(`${prefix}.algorithms`, `must be a non-empty list of ${[...REMOTE_ALGORITHMS].join(', ')}`)
  }
  return Object.freeze({
    audience: typeof audience === 'string' ? audience : Object.freeze([...audience as string[]]),
    algorithms: algorithms === undefined ? undefined : Object.freeze([...algorithms as string[]]),
    clockToleranceMs: nonNegativeSeconds(`${prefix}.clockTolerance`, options.clockTolerance, 0) * 1000,
    timeoutMs: positiveSeconds(`${prefix}.timeout`, options.timeout, DEFAULTS.timeout) * 1000,
    cacheTtlMs: positiveSeconds(`${prefix}.cacheTtl`, options.cacheTtl, DEFAULTS.cacheTtl) * 1000,
    cooldownMs: nonNegativeSeconds(`${prefix}.refreshCooldown`, options.refreshCooldown, DEFAULTS.refreshCooldown) * 1000
  })
}

/**
 * The issuers a discovery document may name: `issuer` when configured, else the
 * discovery URL without `/.well-known/openid-configuration` (§4.3 wants it
 * identical; some providers publish it with a trailing slash, so both are taken).
 */
export function discoveryIssuers (option: string, url: URL, issuer: string | undefined): string[] {
  if (issuer !== undefined) return [issuer]
  if (!url.pathname.endsWith(WELL_KNOWN) || url.search !== '') {
    throw new InvalidOptionError(option, `is required when the discovery URL does not end with ${WELL_KNOWN}`)
  }
  const prefix = `${url.origin}${url.pathname.slice(0, -WELL_KNOWN.length)}`
  return [prefix, `${prefix}/`]
}

/** Builds the verifier of a scheme once the plugin hands over its logger. */
export function remoteJwtVerifier (source: TokenSource, options: ResolvedRemoteJwtOptions, context: SchemeContext): RemoteJwtVerifier {
  return createRemoteJwtVerifier({ source, ...options, log: context.log })
}

/**
 * The scopes a provider's token grants: `scope` (RFC 9068 §2.2.3, RFC 8693 §4.2,
 * space-delimited) or, from providers that use it, `scp` (a list or a string).
 */
export function claimedScopes (claims: Readonly<Record<string, unknown>>): string[] {
  const value = claims.scope ?? claims.scp
  if (typeof value === 'string') return value.split(' ').filter((scope) => scope !== '')
  return Array.isArray(value) ? value.filter(isNonEmptyString) : []
}
