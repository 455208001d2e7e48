import type { FastifyRequest } from 'fastify'
import { formatChallenge } from '../protocol/challenge.js'
import { InvalidCredentialsError, InvalidOptionError, MalformedCredentialsError, type AuthenticationError } from '../errors.js'
import type { SchemeFactory } from './scheme-factory.js'
import { assertOptions, optionalRealm, optionalText, requiredFunction } from './scheme-options.js'
import type { Authentication, SecurityScheme, SecuritySchemeObject } from './security-scheme.js'
import { cookieValues } from '../protocol/cookies.js'
import { NO_SCOPES } from '../protocol/scopes.js'

/** Where an API key travels (OpenAPI `in`). */
export type ApiKeyLocation = 'header' | 'query' | 'cookie'

/**
 * Checks an API key: the principal it stands for, or `null`/`undefined` when it
 * is not valid. Throwing an error of the catalogue refuses with it; any other
 * error is a server error.
 */
export type ApiKeyVerifier<Principal = unknown> = (key: string, request: FastifyRequest) =>
  Principal | null | undefined | Promise<Principal | null | undefined>

/** Options of {@link apiKey}. */
export interface ApiKeyOptions<Principal = unknown> {
  /** Where the key is read from. */
  in: ApiKeyLocation
  /** Header, query parameter or cookie name, e.g. `X-API-Key`. */
  name: string
  /** Checks the key; {@link staticApiKeys} makes one for a fixed set of keys. */
  verify: ApiKeyVerifier<Principal>
  /** Description shown in the OpenAPI document. */
  description?: string
  /** `realm` of the challenge; the plugin's `realm` by default. */
  realm?: string
}

const LOCATIONS: ReadonlySet<unknown> = new Set<ApiKeyLocation>(['header', 'query', 'cookie'])
// RFC 9110 §5.1 field-name and RFC 6265 §4.1.1 cookie-name are tokens; query names kept to the same set
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
// Keys are opaque, but a key is one printable word (VCHAR): anything else is not a key
const KEY = /^[\x21-\x7E]+$/
// Longer than any key worth issuing, short enough that nothing hashes megabytes
const MAX_KEY_LENGTH = 4096

// Stands for a repeated key: not a VCHAR word, so the grammar check refuses it as malformed
const AMBIGUOUS = ' '

const WHERE: Readonly<Record<ApiKeyLocation, string>> = { header: 'header', query: 'query parameter', cookie: 'cookie' }

function fromHeader (request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name]
  // Node joins a repeated header with ", ", which the key grammar refuses below (only set-cookie comes as a list)
  return typeof value === 'string' ? value : undefined
}

function fromQuery (request: FastifyRequest, name: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[name]
  // A repeated parameter (?api_key=a&api_key=b) is ambiguous
  return value === undefined || typeof value === 'string' ? value : AMBIGUOUS
}

function fromCookie (request: FastifyRequest, name: string): string | undefined {
  const values = cookieValues(request.headers.cookie, name)
  // Two cookies of the same name (set for different paths) are ambiguous
  if (values.length > 1) return AMBIGUOUS
  const value = values[0]
  // RFC 6265 §4.1.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
  return value !== undefined && value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value
}

const EXTRACT: Readonly<Record<ApiKeyLocation, (request: FastifyRequest, name: string) => string | undefined>> = {
  header: fromHeader,
  query: fromQuery,
  cookie: fromCookie
}

/**
 * An API key in a header, query parameter or cookie (OpenAPI `apiKey`), checked
 * by `verify`. No key (or an empty one): 401 `FST_OAUTH2_MISSING_CREDENTIALS`;
 * a repeated or malformed one: 400 `FST_OAUTH2_MALFORMED_CREDENTIALS`; a key
 * `verify` refuses: 401 `FST_OAUTH2_INVALID_CREDENTIALS`. Every 401 carries
 * `WWW-Authenticate: APIKey realm="…", in="header", name="X-API-Key"`.
 * API keys carry no scopes: a route requiring one fails at startup.
 *
 * @example
 * securitySchemes: { ApiKey: apiKey({ in: 'header', name: 'X-API-Key', verify: staticApiKeys({ [key]: { client: 'reports' } }) }) }
 */
export function apiKey<Principal = unknown> (options: ApiKeyOptions<Principal>): SchemeFactory {
  assertOptions('apiKey()', options)
  const location = options.in
  if (!LOCATIONS.has(location)) throw new InvalidOptionError('apiKey().in', 'must be "header", "query" or "cookie"')
  if (typeof options.name !== 'string' || !TOKEN.test(options.name)) throw new InvalidOptionError('apiKey().name', 'must be a non-empty token (letters, digits, !#$%&\'*+.^_`|~-)')
  const keyName = options.name
  const verify = requiredFunction<ApiKeyVerifier>('apiKey().verify', options.verify)
  const description = optionalText('apiKey().description', options.description)
  const realm = optionalRealm('apiKey().realm', options.realm)
  // Fastify lowercases header names
  const lookup = location === 'header' ? keyName.toLowerCase() : keyName
  const extract = EXTRACT[location]
  const document: SecuritySchemeObject = { type: 'apiKey', name: keyName, in: location, ...(description === undefined ? {} : { description }) }

  return function buildApiKey (name, context): SecurityScheme {
    const challenge = formatChallenge('APIKey', { realm: realm ?? context.realm, in: location, name: keyName })

    async function authenticate (request: FastifyRequest): Promise<Authentication | null> {
      const key = extract(request, lookup)
      if (key === undefined || key === '') return null
      if (key.length > MAX_KEY_LENGTH || !KEY.test(key)) throw new MalformedCredentialsError(`The API key ${WHERE[location]} is malformed or repeated`)
      const principal = await verify(key, request)
      if (principal === null || principal === undefined) throw new InvalidCredentialsError('The API key is invalid')
      return { scheme: name, principal, scopes: NO_SCOPES, claims: null }
    }

    return {
      name,
      resolvesUser: false,
      scopes: null,
      openapi: () => ({ ...document }),
      authenticate,
      challenge: (_error: AuthenticationError | null) => challenge
    }
  }
}
