import type { FastifyContextConfig, FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HTTPMethods, RouteHandlerMethod } from 'fastify'
import {
  InvalidRequestError,
  isCatalogueError,
  protocolErrorCode,
  type OAuth2Error,
  withRefusalHeaders
} from '../errors.js'
import { formatChallenge } from '../protocol/challenge.js'
import { toErrorDescription } from '../protocol/error-description.js'
import { parseFormBody } from '../protocol/form-body.js'
import { loggableError } from '../util/loggable-error.js'
import { quietRefusal } from '../util/quiet-refusal.js'
import { requestWithoutQuery } from '../util/request-log.js'
import { withEndpointRouteOptions, type EndpointRouteOptions } from './route-options.js'

/** The route options every form endpoint route takes: its log line never carries the query. */
export const FORM_ROUTE_LOG = { logSerializers: { req: requestWithoutQuery } } as const

// OPTIONS stays free for CORS preflight (@fastify/cors answers it); HEAD has no body to echo a query into
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
    handler: async function methodNotAllowed (_request: FastifyRequest, reply: FastifyReply) {
      quietRefusal(reply, 405)
      return await reply.code(405).header('allow', 'POST')
        .send({ error: 'invalid_request', error_description: 'This endpoint accepts only POST' })
    }
  })
}

// The form is checked by parseFormBody and the grants; the body schema only documents it
function documentationOnly () {
  return function acceptParsedForm () { return true }
}

// RFC 6749 §5.1: responses with tokens (and, by the same logic, their errors) must not be cached
const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

/** Fixed descriptions for Fastify's own request errors: their messages may echo request input. */
const FRAMEWORK_ERRORS: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'The request body must be application/x-www-form-urlencoded',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'The request body length is invalid',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large',
  FST_ERR_VALIDATION: 'The request parameters are malformed'
}

// Fastify's own request errors on these routes (content type, body length, form validation) are the form's
function isRequestError (error: FastifyError): boolean {
  return typeof error.code === 'string' && (error.code.startsWith('FST_ERR_CTP_') || error.code === 'FST_ERR_VALIDATION')
}

function asOAuth2Error (error: FastifyError): OAuth2Error | null {
  if (isCatalogueError(error) && protocolErrorCode(error) !== undefined) return error as unknown as OAuth2Error
  /* c8 ignore next: the fallback is for content-type error codes Fastify may add; the suite reaches only the listed ones */
  if (isRequestError(error)) return new InvalidRequestError(FRAMEWORK_ERRORS[error.code] ?? 'The request is malformed') as OAuth2Error
  return null
}

/**
 * Whether another plugin or hook raised `error` on purpose, with its own status (a
 * 429 from `@fastify/rate-limit`, a 403 from an allow-list, a 503 from maintenance):
 * the plugin owns only its own errors, so those keep their status and headers.
 */
function isForeignError (error: FastifyError): boolean {
  return typeof error.statusCode === 'number' && !isCatalogueError(error) && !isRequestError(error)
}

/**
 * Renders the plugin's own failures on its form endpoints as RFC 6749 §5.2
 * `{ error, error_description }`, including the framework's request errors (wrong
 * content type, oversized body), so clients see one shape. An error another plugin
 * raised is thrown on to the app's error handler, unchanged.
 */
function renderTokenError (realm: string, error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (isForeignError(error)) throw error
  const oauth2 = asOAuth2Error(error)
  if (oauth2 === null) {
    request.log.error({ err: loggableError(error) }, 'fastify-oauth2-password: token endpoint failure')
    reply.code(500).send({ error: 'server_error', error_description: 'The server could not handle the request' })
    return
  }
  // RFC 6749 §5.2: a 401 invalid_client carries a challenge for the scheme the client used
  if (oauth2.error === 'invalid_client' && oauth2.statusCode === 401) withRefusalHeaders(oauth2, { 'www-authenticate': formatChallenge('Basic', { realm, charset: 'UTF-8' }) })
  if (oauth2.headers !== undefined) reply.headers(oauth2.headers)
  const statusCode = oauth2.statusCode ?? 400
  quietRefusal(reply, statusCode)
  reply.code(statusCode).send({ error: oauth2.error, error_description: toErrorDescription(oauth2.message) })
}

/**
 * Sets up an encapsulated context for form-posting OAuth endpoints (token, RFC 7009
 * revocation): only form bodies, every failure rendered as RFC 6749 §5.2, no-store.
 */
function useFormEndpoint (instance: FastifyInstance, bodyLimit: number, realm: string): void {
  // Only form bodies: JSON and the rest get invalid_request instead of being parsed
  instance.removeAllContentTypeParsers()
  // Raw bytes, so parseFormBody can refuse invalid UTF-8 instead of seeing U+FFFD in its place
  instance.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit },
    function parseTokenRequest (_request, body, done) {
      try {
        done(null, parseFormBody(body as Buffer))
      } catch (error) {
        done(error as Error, undefined)
      }
    })
  instance.setErrorHandler(function tokenErrorHandler (error: FastifyError, request, reply) {
    renderTokenError(realm, error, request, reply)
  })
  instance.addHook('onRequest', async function noStore (_request, reply) {
    reply.headers(NO_STORE)
  })
}

/** What {@link formRoute} needs of an endpoint's configuration. */
export interface FormRouteConfig {
  /** Route path, relative to the registration prefix. */
  readonly url: string
  readonly bodyLimit: number
  readonly realm: string
  /** Route schema (OpenAPI documentation of the form, the answers and the errors). */
  readonly schema: FastifySchema
  /** The plugin's own route config (the token route's swagger transform). */
  readonly config?: FastifyContextConfig
  /** The app's route options (`tokenRoute`, `revokeRoute`): config, hooks, documentation. */
  readonly route: Readonly<EndpointRouteOptions>
}

/**
 * A form-posting OAuth endpoint (token, RFC 7009 revocation) in its encapsulated
 * context: the form parser, RFC 6749 §5.2 errors and no-store of
 * {@link useFormEndpoint}, 405 for other methods, a log line without the query, and
 * `handler` as the POST route with the app's route options on top.
 */
export function formRoute (instance: FastifyInstance, config: FormRouteConfig, handler: RouteHandlerMethod): void {
  useFormEndpoint(instance, config.bodyLimit, config.realm)
  refuseOtherMethods(instance, config.url)
  instance.post(config.url, withEndpointRouteOptions({
    ...FORM_ROUTE_LOG,
    schema: config.schema,
    bodyLimit: config.bodyLimit,
    validatorCompiler: documentationOnly,
    config: config.config
  }, config.route), handler)
}
