import type { FastifySchema, RouteOptions } from 'fastify'
import type { SwaggerTransform } from '@fastify/swagger'
import type { CompiledRequirement } from '../resource-server/requirements.js'
import type { OAuthFlowObject, SecurityScheme, SecuritySchemeObject } from '../schemes/security-scheme.js'

/**
 * Fastify's error body (`statusCode`, `code`, `error`, `message`), as protected
 * routes answer by default. A response schema also drives serialization, so this
 * one requires nothing and lets other properties through: an app's own error
 * handler (FastAPI-style `{ detail }`) is sent as it built it, never turned into a 500.
 */
const FASTIFY_ERROR_BODY = {
  type: 'object',
  properties: {
    statusCode: { type: 'integer', description: 'The HTTP status code' },
    code: { type: 'string', description: 'Stable error code, such as `FST_OAUTH2_INVALID_TOKEN`' },
    error: { type: 'string', description: 'The HTTP reason phrase' },
    message: { type: 'string', description: 'What went wrong' }
  },
  additionalProperties: true
} as const

const CHALLENGE_HEADER = {
  // RFC 7235 §4.1, RFC 6750 §3: one challenge per scheme the route accepts
  'WWW-Authenticate': { type: 'string', description: 'One challenge per security scheme the operation accepts (RFC 7235 §4.1, RFC 6750 §3)' }
} as const

type ResponseMap = Record<string, unknown>

function requiresScopes (requirement: CompiledRequirement): boolean {
  return requirement.alternatives.some((alternative) => alternative.some(({ scopes }) => scopes.length > 0))
}

/**
 * Documents the refusals of a protected route in its response schema: 400
 * (malformed credentials), 401 (missing or bad credentials) and, when it needs
 * scopes, 403, each with its `WWW-Authenticate` header. A status the route
 * documents itself is left as it is; a route that documents none keeps its default 200.
 */
export function documentProtectedRoute (routeOptions: RouteOptions, requirement: CompiledRequirement): void {
  // The route-security hook has written the requirement into the schema: there is one
  const schema = routeOptions.schema as FastifySchema & { response?: ResponseMap }
  const response: ResponseMap = { ...schema.response }
  // @fastify/swagger documents a route without responses as `200 Default Response`; the refusals
  // added below would take that away, and Swagger UI would show only them
  if (schema.response === undefined) response['200'] = { description: 'Default Response' }
  // RFC 6750 §3.1: invalid_request is answered with 400
  response['400'] ??= { description: 'Malformed request or credentials (RFC 6750 §3.1 `invalid_request`)', headers: CHALLENGE_HEADER, ...FASTIFY_ERROR_BODY }
  response['401'] ??= { description: 'Missing or invalid credentials (RFC 6750 §3.1 `invalid_token`)', headers: CHALLENGE_HEADER, ...FASTIFY_ERROR_BODY }
  if (requiresScopes(requirement)) {
    response['403'] ??= { description: 'The credentials lack a required scope (RFC 6750 §3.1 `insufficient_scope`)', headers: CHALLENGE_HEADER, ...FASTIFY_ERROR_BODY }
  }
  routeOptions.schema = { ...schema, response }
}

/** A Swagger 2.0 Security Scheme Object (`securityDefinitions.*`). */
export type Swagger2SecurityScheme =
  | { type: 'oauth2', description?: string, flow: 'password' | 'application' | 'accessCode' | 'implicit', tokenUrl?: string, authorizationUrl?: string, scopes: Record<string, string> }
  | { type: 'apiKey', description?: string, name: string, in: 'header' | 'query' }
  | { type: 'basic', description?: string }

// OpenAPI 3 flow name → Swagger 2.0 `flow`
const SWAGGER2_FLOWS = { password: 'password', clientCredentials: 'application', authorizationCode: 'accessCode', implicit: 'implicit' } as const

/**
 * The closest Swagger 2.0 form of an OpenAPI 3 scheme. Swagger 2.0 has one flow
 * per OAuth2 scheme, no cookie API keys and no HTTP scheme but Basic: those become
 * an API key in the header they travel in, described so a reader knows what to send.
 * Flow URLs that are paths are prefixed with `origin` (`https://host`), when known.
 */
export function swagger2SecurityScheme (scheme: SecuritySchemeObject, origin = ''): Swagger2SecurityScheme {
  const description = scheme.description === undefined ? {} : { description: scheme.description }
  const absolute = (url: string): string => url.startsWith('/') ? `${origin}${url}` : url
  switch (scheme.type) {
    case 'oauth2': {
      const [name, flow] = Object.entries(scheme.flows)[0] as [keyof typeof SWAGGER2_FLOWS, OAuthFlowObject]
      const urls = {
        ...(flow.authorizationUrl === undefined ? {} : { authorizationUrl: absolute(flow.authorizationUrl) }),
        ...(flow.tokenUrl === undefined ? {} : { tokenUrl: absolute(flow.tokenUrl) })
      }
      return { type: 'oauth2', ...description, flow: SWAGGER2_FLOWS[name], ...urls, scopes: { ...flow.scopes } }
    }
    case 'apiKey':
      if (scheme.in !== 'cookie') return { type: 'apiKey', ...description, name: scheme.name, in: scheme.in }
      return { type: 'apiKey', description: scheme.description ?? `The \`${scheme.name}\` cookie (Swagger 2.0 cannot describe cookies)`, name: 'Cookie', in: 'header' }
    case 'http':
      if (scheme.scheme.toLowerCase() === 'basic') return { type: 'basic', ...description }
      return { type: 'apiKey', description: scheme.description ?? `HTTP \`${scheme.scheme}\` authentication: \`Authorization: ${scheme.scheme} …\``, name: 'Authorization', in: 'header' }
    case 'openIdConnect':
      return { type: 'apiKey', description: scheme.description ?? `OpenID Connect (${scheme.openIdConnectUrl}): \`Authorization: Bearer <token>\``, name: 'Authorization', in: 'header' }
  }
}

/** An OpenAPI Server Object. */
interface ServerObject {
  url: string
  variables?: Record<string, { default?: unknown }>
}

/** A server URL with its variables replaced by their defaults (@fastify/swagger refuses a document where one has none). */
function resolveServerUrl (server: ServerObject): string {
  return server.url.replace(/\{([^{}]+)\}/g, (_match, name: string) => String(server.variables?.[name]?.default))
}

/** The path part of a server URL (`/api` of `https://example.com/api/`), `''` for none. */
function serverBasePath (url: string): string | null {
  let path: string
  if (url.startsWith('/')) path = url.split(/[?#]/)[0] as string
  else if (URL.canParse(url)) path = new URL(url).pathname
  else return null
  return path.replace(/\/+$/, '')
}

/**
 * Where the browser reaches a path of this server, for the documented base path
 * (the first server's, or Swagger 2.0's `basePath`). `@fastify/swagger` takes a base
 * path that starts the route's URL for the route prefix and strips it from the
 * documented paths; any other base path is where the app is mounted (a proxy), and
 * Swagger UI calls every operation below it: so must the token request go.
 */
function browserPath (path: string, basePath: string | null): string {
  // The same test as @fastify/swagger's stripBasePath, so the token request goes where operations go
  if (basePath === null || basePath === '' || path.startsWith(basePath)) return path
  return `${basePath}${path}`
}

/** The flows with their URLs that are paths (not absolute URLs) placed where the browser reaches them. */
function mountedFlows (flows: Partial<Record<string, OAuthFlowObject>>, basePath: string | null): Record<string, OAuthFlowObject> {
  const mounted: Record<string, OAuthFlowObject> = {}
  for (const [name, flow] of Object.entries(flows as Record<string, OAuthFlowObject>)) {
    const { scopes, ...urls } = flow
    for (const [key, url] of Object.entries(urls) as Array<[keyof typeof urls, string | undefined]>) {
      if (url?.startsWith('/') === true) urls[key] = browserPath(url, basePath)
    }
    mounted[name] = { ...urls, scopes }
  }
  return mounted
}

/** A scheme's document entry, its own URLs placed where the browser reaches them. */
function documentedScheme (scheme: SecurityScheme, basePath: string | null): SecuritySchemeObject {
  const object = scheme.openapi()
  return object.type === 'oauth2' ? { ...object, flows: mountedFlows(object.flows, basePath) } : object
}

/** The parts of the document `@fastify/swagger` is building (OpenAPI 3 or Swagger 2.0) that the schemes touch. */
interface DocumentInProgress {
  servers?: ServerObject[]
  components?: { securitySchemes?: Record<string, unknown> }
  basePath?: string
  host?: string
  schemes?: string[]
  securityDefinitions?: Record<string, unknown>
}

/**
 * Adds the plugin's security schemes to the document `@fastify/swagger` is
 * building (`components.securitySchemes`, or `securityDefinitions` in Swagger 2.0).
 * Runs as the `swaggerTransform` of the token route, which the document reaches before any
 * route naming these schemes (its copy by `pluginOperationsCarrier` when `@fastify/swagger` comes later).
 * The plugin's schemes replace same-named ones of the `@fastify/swagger` options:
 * the document shows what is enforced. Those options are copied, never changed.
 */
export function securitySchemesTransform (schemes: ReadonlyMap<string, SecurityScheme>): SwaggerTransform {
  return function addSecuritySchemes (input) {
    if ('openapiObject' in input) {
      const document = input.openapiObject as DocumentInProgress
      const server = document.servers?.[0]
      const basePath = server === undefined ? null : serverBasePath(resolveServerUrl(server))
      const documented: Record<string, unknown> = { ...document.components?.securitySchemes }
      for (const [name, scheme] of schemes) documented[name] = documentedScheme(scheme, basePath)
      document.components = { ...document.components, securitySchemes: documented }
    } else {
      // Swagger 2.0: `securityDefinitions`, under the document's `basePath`
      const document = input.swaggerObject as DocumentInProgress
      const basePath = document.basePath === undefined ? null : serverBasePath(document.basePath)
      // Swagger 2.0 wants absolute flow URLs: possible when the document names its scheme and host
      const origin = document.schemes?.[0] === undefined || document.host === undefined ? '' : `${document.schemes[0]}://${document.host}`
      const documented: Record<string, unknown> = { ...document.securityDefinitions }
      for (const [name, scheme] of schemes) documented[name] = swagger2SecurityScheme(documentedScheme(scheme, basePath), origin)
      document.securityDefinitions = documented
    }
    return { schema: input.schema, url: input.url }
  }
}
