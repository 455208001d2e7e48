import { InvalidClientError, InvalidRequestError, UnauthorizedClientError } from '../errors.js'
import { isBasicAuthorization, parseBasicCredentials } from '../protocol/basic-credentials.js'
import { SHA256_BASE64_LENGTH, sha256 } from '../util/sha256.js'
import { textEquality } from '../util/equal-text.js'
import { isClientId } from '../protocol/client-id.js'
import { decodeFormComponent, type FormParameters } from '../protocol/form-body.js'

/** A registered client: confidential when it has a secret, public otherwise. */
export interface ClientRegistration {
  /** The client secret; leave out for public clients (browsers, Swagger UI). */
  secret?: string
  /** Grant types the client may use; all by default. */
  grantTypes?: readonly string[]
}

/** Registered clients by `client_id`. */
export type ClientRegistry = Readonly<Record<string, ClientRegistration>>

/** The client behind a token request, `null` when it did not identify itself. */
export type AuthenticatedClient = { readonly id: string } | null

interface PresentedClient { id: string, secret: string | undefined, viaHeader: boolean }

/**
 * RFC 6749 §5.2: invalid_client is 401 with a challenge when the client tried the
 * Authorization header; otherwise 400, so a browser never pops up its Basic login prompt.
 */
function invalidClient (viaHeader: boolean): Error {
  const error = new InvalidClientError()
  if (!viaHeader) error.statusCode = 400
  return error
}

// Swagger UI's Authorize dialog sends `Basic base64(":")` when no client id is filled in
const EMPTY_BASIC = /^basic +Og== *$/i

// RFC 6749 §2.3.1: the client id and secret are form-encoded before Basic encoding
function presentedViaHeader (header: string): PresentedClient {
  const credentials = parseBasicCredentials(header)
  if (credentials === null || credentials.userId === '') throw invalidClient(true)
  let id: string
  let secret: string
  try {
    id = decodeFormComponent(credentials.userId)
    secret = decodeFormComponent(credentials.password)
  } catch {
    throw invalidClient(true)
  }
  if (!isClientId(id)) throw invalidClient(true)
  return { id, secret: secret || undefined, viaHeader: true }
}

function presentedClient (authorization: string | undefined, parameters: FormParameters): PresentedClient | null {
  const bodyId = parameters.client_id
  const bodySecret = parameters.client_secret
  if (authorization === undefined || authorization === '' || EMPTY_BASIC.test(authorization)) {
    if (bodySecret !== undefined && bodyId === undefined) throw new InvalidRequestError('The client_secret parameter needs client_id')
    // RFC 6749 Appendix A.1: VSCHARs only, and bounded, before the id goes into a token or a store
    if (bodyId !== undefined && !isClientId(bodyId)) throw new InvalidRequestError('The client_id parameter is malformed')
    return bodyId === undefined ? null : { id: bodyId, secret: bodySecret, viaHeader: false }
  }
  if (!isBasicAuthorization(authorization)) throw invalidClient(true)
  const client = presentedViaHeader(authorization)
  // RFC 6749 §2.3: a client MUST NOT use more than one authentication method per request
  if (bodySecret !== undefined) throw new InvalidRequestError('Client credentials were sent both in the header and in the body')
  if (bodyId !== undefined && bodyId !== client.id) throw new InvalidRequestError('The client_id parameter does not match the authenticated client')
  return client
}

const digestsEqual = textEquality(SHA256_BASE64_LENGTH)

/** Constant-time string equality: compares fixed-length digests, so neither content nor length leaks. */
export function secretsEqual (presented: string, expected: string): boolean {
  return digestsEqual(sha256(presented, 'base64'), sha256(expected, 'base64'))
}

/**
 * Authenticates the client of a token or revocation request (RFC 6749 §2.3).
 * Without a registry every client is public and any `client_id` is taken as given.
 */
export function authenticateClient (
  authorization: string | undefined,
  parameters: FormParameters,
  registry: ClientRegistry | undefined,
  grantType: string | null
): AuthenticatedClient {
  const client = presentedClient(authorization, parameters)
  if (registry === undefined) return client === null ? null : { id: client.id }
  if (client === null) throw invalidClient(false)
  const registration = Object.hasOwn(registry, client.id) ? registry[client.id] : undefined
  if (registration === undefined) throw invalidClient(client.viaHeader)
  if (registration.secret === undefined ? client.secret !== undefined : client.secret === undefined || !secretsEqual(client.secret, registration.secret)) {
    throw invalidClient(client.viaHeader)
  }
  if (grantType !== null && registration.grantTypes !== undefined && !registration.grantTypes.includes(grantType)) {
    throw new UnauthorizedClientError()
  }
  return { id: client.id }
}
