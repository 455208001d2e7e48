import { Buffer } from 'node:buffer'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { decodeExtValue, isDigestAuthorization, parseDigestDirectives, type DigestDirectives } from '../protocol/digest-credentials.js'
import { DIGEST_HEX_LENGTH, digestHash, isDigestAlgorithm, type DigestAlgorithm } from '../protocol/digest-hash.js'
import { createDigestNonces, type DigestNonces, type SharedNonceCounts } from './digest-nonces.js'
import {
  AuthenticationUnavailableError,
  InvalidCredentialsError,
  InvalidOptionError,
  MalformedCredentialsError,
  StaleNonceError,
  type AuthenticationError
} from '../errors.js'
import type { SchemeContext, SchemeFactory } from './scheme-factory.js'
import type { LoginAttempt } from '../protection/login-protection.js'
import { assertOptions, optionalRealm, optionalText, positiveSeconds, requiredFunction } from './scheme-options.js'
import type { Authentication, SecurityScheme } from './security-scheme.js'
import { NO_SCOPES } from '../protocol/scopes.js'
import { isIntegerFromTo } from '../util/integer-range.js'

export { digestHa1, type DigestAlgorithm } from '../protocol/digest-hash.js'

type NonceUse = (nonce: string, issuedAt: number, nonceCount: number) => Promise<boolean>

async function sharedUse (shared: SharedNonceCounts, context: SchemeContext, nonce: string, issuedAt: number, expiresAt: number, nonceCount: number): Promise<boolean> {
  const now = Date.now()
  if (expiresAt < now) return false
  try {
    return await shared.useNonceCount(nonce, nonceCount, issuedAt, expiresAt, now)
  } catch {
    // The store's own error may quote the command's arguments: the log says only what failed
    context.log.error('fastify-oauth2-password: token store unavailable for HTTP Digest nonce-counts')
    throw new AuthenticationUnavailableError()
  }
}

// RFC 7616 §3.4: nonce-count replays are caught in the shared store when there is one, so an
// instance cannot accept a request another one already did; else in this process
function nonceUse (nonces: DigestNonces, ttlMs: number, context: SchemeContext): NonceUse {
  const shared = context.nonceCounts
  if (shared === undefined) return async (nonce, issuedAt, nonceCount) => nonces.use(nonce, issuedAt, nonceCount) === 'valid'
  return async (nonce, issuedAt, nonceCount) => await sharedUse(shared, context, nonce, issuedAt, issuedAt + ttlMs, nonceCount)
}

/**
 * Finds the stored HA1 of a user: `H(username ":" realm ":" password)` in lowercase
 * hex for `algorithm` (see `digestHa1()`), or `null`/`undefined` for an unknown user.
 */
export type Ha1Lookup = (username: string, realm: string, algorithm: DigestAlgorithm) =>
  string | null | undefined | Promise<string | null | undefined>

/** Who authenticated with Digest. */
export interface DigestPrincipal {
  readonly username: string
}

/** Options of {@link httpDigest}. */
export interface HttpDigestOptions {
  /** The protection space (RFC 7616 §3.3). HA1 values are bound to it: changing it invalidates them. */
  realm: string
  /** Accepted algorithms, most preferred first; one challenge each (RFC 7616 §3.7). Default `['SHA-256']`. */
  algorithms?: DigestAlgorithm[]
  /** Looks up the stored HA1 of a user. */
  findHa1: Ha1Lookup
  /** Seconds a nonce is accepted; after that the client is told `stale=true` and retries. Default 300. */
  nonceTtl?: number
  /**
   * HMAC key of the nonces (at least 32 bytes). Give the same one to every instance
   * behind a load balancer so they accept each other's nonces. Random by default.
   * Replay detection (`nc`) stays per instance.
   */
  nonceSecret?: string | Buffer
  /** Used nonces remembered for replay detection. Default 10000. */
  maxTrackedNonces?: number
  /** Description shown in the OpenAPI document. */
  description?: string
}

const DEFAULTS = { algorithms: ['SHA-256'] as DigestAlgorithm[], nonceTtl: 300, maxTrackedNonces: 10_000 }
// One answer for unknown user and wrong password
const BAD_CREDENTIALS = 'Incorrect username or password'
// RFC 7616 §3.4: nc = 8LHEX (uppercase tolerated)
const NONCE_COUNT = /^[0-9A-Fa-f]{8}$/
// RFC 7616 §3.4.1: response = LHEX digest (uppercase tolerated, compared lowercased)
const HEX = /^[0-9A-Fa-f]+$/
// RFC 7616 §3.4.4: like Basic's user-id, no control characters
const CONTROL = /[\x00-\x1F\x7F]/ // eslint-disable-line no-control-regex
const MIN_SECRET_BYTES = 32

/** A Digest credential whose syntax is checked, ready to verify. */
interface DigestCredential {
  readonly username: string
  readonly algorithm: DigestAlgorithm
  readonly nonce: string
  readonly uri: string
  readonly qop: string
  readonly nc: string
  readonly cnonce: string
  readonly response: string
}

function malformed (problem: string): Error {
  return new InvalidCredentialsError(`The Digest credentials are malformed: ${problem}`)
}

// RFC 7616 §3.4.4: username, or username* (RFC 8187) when the name does not fit a quoted-string; never both
function usernameOf (directives: DigestDirectives): string {
  const plain = directives.get('username')
  const extended = directives.get('username*')
  if ((plain === undefined) === (extended === undefined)) throw malformed('send exactly one of username and username*')
  const username = plain ?? decodeExtValue(extended as string)
  if (username === null || CONTROL.test(username)) throw malformed('the username is not valid')
  return username
}

function required (directives: DigestDirectives, name: string): string {
  const value = directives.get(name)
  if (value === undefined || value === '') throw malformed(`"${name}" is missing`)
  return value
}

function algorithmOf (directives: DigestDirectives, accepted: readonly DigestAlgorithm[]): DigestAlgorithm {
  // RFC 7616 §3.3: without an algorithm directive, MD5 is meant
  const value = (directives.get('algorithm') ?? 'MD5').toUpperCase()
  const algorithm = isDigestAlgorithm(value) && accepted.includes(value) ? value : undefined
  if (algorithm === undefined) throw malformed('the algorithm is not accepted')
  return algorithm
}

function resolveSecret (value: unknown): Buffer | undefined {
  if (value === undefined) return undefined
  const bytes = typeof value === 'string' || Buffer.isBuffer(value) ? Buffer.from(value) : undefined
  if (bytes === undefined || bytes.length < MIN_SECRET_BYTES) throw new InvalidOptionError('httpDigest().nonceSecret', `must be a string or Buffer of at least ${MIN_SECRET_BYTES} bytes`)
  return bytes
}

function resolveAlgorithms (value: unknown): DigestAlgorithm[] {
  if (value === undefined) return [...DEFAULTS.algorithms]
  if (!Array.isArray(value) || value.length === 0 || !value.every(isDigestAlgorithm) || new Set(value).size !== value.length) {
    throw new InvalidOptionError('httpDigest().algorithms', 'must be a non-empty list of distinct "SHA-256" and "MD5"')
  }
  return [...value]
}

function resolveMaxTracked (value: unknown): number {
  if (value === undefined) return DEFAULTS.maxTrackedNonces
  if (!isIntegerFromTo(value, 1)) throw new InvalidOptionError('httpDigest().maxTrackedNonces', 'must be a positive integer')
  return value
}

/**
 * HTTP Digest (RFC 7616, OpenAPI `http`/`digest`), verified for real: `qop=auth`,
 * SHA-256 and MD5, server nonces that expire (`stale=true` then, so the client
 * retries without asking the user again) and nonce-counts that cannot be replayed.
 * Passwords are never stored: `findHa1` returns the HA1 made by `digestHa1()`.
 *
 * Answers: no credentials or wrong ones, 401 with one `WWW-Authenticate: Digest …`
 * per algorithm (a fresh nonce each time); a `uri` that is not the request's, 400
 * (RFC 7616 §3.4.6). The principal is `{ username }`; Digest carries no scopes.
 *
 * @example
 * securitySchemes: {
 *   Digest: httpDigest({ realm: 'api', algorithms: ['SHA-256', 'MD5'], findHa1: (username, realm, algorithm) => db.ha1(username, algorithm) })
 * }
 */
export function httpDigest (options: HttpDigestOptions): SchemeFactory {
  assertOptions('httpDigest()', options)
  const realm = optionalRealm('httpDigest().realm', options.realm)
  if (realm === undefined) throw new InvalidOptionError('httpDigest().realm', 'is required: HA1 values are bound to it')
  const algorithms = resolveAlgorithms(options.algorithms)
  const findHa1 = requiredFunction<Ha1Lookup>('httpDigest().findHa1', options.findHa1)
  const ttlMs = positiveSeconds('httpDigest().nonceTtl', options.nonceTtl, DEFAULTS.nonceTtl) * 1000
  const secret = resolveSecret(options.nonceSecret)
  const maxTracked = resolveMaxTracked(options.maxTrackedNonces)
  const description = optionalText('httpDigest().description', options.description)

  return function buildHttpDigest (name, context): SecurityScheme {
    const nonces: DigestNonces = createDigestNonces({ ttlMs, maxTracked, ...(secret === undefined ? {} : { secret }) })
    const useNonce = nonceUse(nonces, ttlMs, context)
    // RFC 7616 §3.3: opaque is returned unchanged by the client; it ties credentials to this scheme. With a
    // shared nonceSecret every instance derives the same one, so they accept each other's requests
    const opaque = secret === undefined ? randomBytes(16).toString('base64url') : createHmac('sha256', secret).update(`opaque:${name}`).digest('base64url').slice(0, 22)
    // Unknown users cost the same hashing as known ones
    const dummyHa1 = Object.fromEntries(algorithms.map((algorithm) => [algorithm, randomBytes(DIGEST_HEX_LENGTH[algorithm] / 2).toString('hex')]))

    function parse (header: string, request: FastifyRequest): DigestCredential {
      const directives = parseDigestDirectives(header)
      if (directives === null) throw malformed('the header does not follow RFC 7616 §3.4')
      const username = usernameOf(directives)
      const algorithm = algorithmOf(directives, algorithms)
      // RFC 7616 §3.4.4: userhash is only used when the server offers it, which this one does not
      if (directives.get('userhash')?.toLowerCase() === 'true') throw malformed('userhash is not offered')
      if (required(directives, 'realm') !== realm) throw malformed('the realm is not this server\'s')
      // RFC 7616 §3.4: qop is required; this server offers "auth" only
      const qop = required(directives, 'qop')
      if (qop.toLowerCase() !== 'auth') throw malformed('qop must be "auth"')
      const nc = required(directives, 'nc')
      if (!NONCE_COUNT.test(nc) || Number.parseInt(nc, 16) === 0) throw malformed('nc must be 8 hexadecimal digits, from 00000001')
      const response = required(directives, 'response')
      if (response.length !== DIGEST_HEX_LENGTH[algorithm] || !HEX.test(response)) throw malformed('the response is not a digest of the algorithm')
      if (directives.get('opaque') !== opaque) throw malformed('opaque is not this server\'s')
      const credential = { username, algorithm, nonce: required(directives, 'nonce'), uri: required(directives, 'uri'), qop, nc, cnonce: required(directives, 'cnonce'), response: response.toLowerCase() }
      // RFC 7616 §3.4.6: the uri must designate the requested resource, else 400 Bad Request
      if (credential.uri !== request.url) throw new MalformedCredentialsError('The Digest uri does not match the request target')
      return credential
    }

    async function authenticate (request: FastifyRequest): Promise<Authentication | null> {
      const header = request.headers.authorization
      if (header === undefined || !isDigestAuthorization(header)) return null
      const credential = parse(header, request)
      const issuedAt = nonces.issuedAt(credential.nonce)
      if (issuedAt === null) throw new InvalidCredentialsError('The nonce was not issued by this server')
      // Account protection: the token endpoint's limits guard this password check too
      const attempt: LoginAttempt = { request, username: credential.username, clientId: null, mechanism: 'http_digest' }
      await context.loginProtection.beforeLogin(attempt)
      const stored = await findHa1(credential.username, realm as string, credential.algorithm)
      const known = typeof stored === 'string' && stored.length === DIGEST_HEX_LENGTH[credential.algorithm] && HEX.test(stored)
      const ha1 = known ? stored.toLowerCase() : dummyHa1[credential.algorithm] as string
      // RFC 7616 §3.4.1 and §3.4.3: response = H(HA1:nonce:nc:cnonce:qop:H(method:uri))
      const ha2 = digestHash(credential.algorithm, `${request.method}:${credential.uri}`)
      const expected = digestHash(credential.algorithm, `${ha1}:${credential.nonce}:${credential.nc}:${credential.cnonce}:${credential.qop}:${ha2}`)
      if (!timingSafeEqual(Buffer.from(expected), Buffer.from(credential.response)) || !known) {
        await context.loginProtection.loginFailed(attempt, known ? credential.username : null, known ? 'wrong_password' : 'unknown_user')
        throw new InvalidCredentialsError(BAD_CREDENTIALS)
      }
      // Only a verified response may consume a nonce-count: others cannot burn a client's counts
      if (!await useNonce(credential.nonce, issuedAt, Number.parseInt(credential.nc, 16))) throw new StaleNonceError()
      await context.loginProtection.loginSucceeded(attempt, credential.username)
      return { scheme: name, principal: Object.freeze({ username: credential.username }), scopes: NO_SCOPES, claims: null }
    }

    function challenge (error: AuthenticationError | null): string[] {
      const nonce = nonces.issue()
      const stale = error?.code === 'FST_OAUTH2_STALE_NONCE' ? ', stale=true' : ''
      // RFC 7616 §3.7, §3.9.1: one challenge per algorithm, most preferred first; algorithm, charset and stale are tokens
      return algorithms.map((algorithm) =>
        `Digest realm="${realm}", qop="auth", algorithm=${algorithm}, nonce="${nonce}", opaque="${opaque}", charset=UTF-8${stale}`)
    }

    return {
      name,
      resolvesUser: false,
      scopes: null,
      openapi: () => ({ type: 'http', scheme: 'digest', ...(description === undefined ? {} : { description }) }),
      authenticate,
      challenge
    }
  }
}
