import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, RouteOptions } from 'fastify'
import { InsufficientScopeError, InvalidOptionError, MissingCredentialsError, isCatalogueError } from '../errors.js'
import { authenticateRequest, combineRequirements, compileRequirement, isSecurityRequirement, refuseSoleScheme, type CompiledRequirement } from './requirements.js'
import { isPromiseLike } from '../util/promise-like.js'
import { requestAuthentication } from './request-authentication.js'
import { loggerRequestSerializer, requestWithoutParameters } from '../util/request-log.js'
import { quietRefusal } from '../util/quiet-refusal.js'
import { hasAllScopes } from '../protocol/scopes.js'
import type { Authentication, SecurityRequirement, SecurityScheme } from '../schemes/security-scheme.js'

const kContextSecurity = Symbol('fastify-oauth2-password.contextSecurity')
// Set in the config of every route the onRoute hook saw, so the guard knows which ones it did not
const kSeen = Symbol('fastify-oauth2-password.routeSeen')

interface SecurityContext {
  [kContextSecurity]?: SecurityRequirement[]
}

/** What the route-security hook needs from the plugin. */
export interface RouteSecurityConfig {
  readonly schemes: ReadonlyMap<string, SecurityScheme>
  /** Plugin-level default for routes that declare nothing. */
  readonly defaultSecurity: readonly SecurityRequirement[] | undefined
  /** Adds the documentation of a protected route (401/403 answers) to its schema. */
  readonly document: (routeOptions: RouteOptions, requirement: CompiledRequirement) => void
  /** Query parameters that may carry credentials: left out of every route's request log line. */
  readonly queryCredentials: ReadonlySet<string>
}

/**
 * The query parameters the schemes read credentials from: API keys `in: 'query'`
 * and `bearerQuery` (the `bearerToken.query` option, `false` when off).
 */
export function queryCredentialNames (schemes: ReadonlyMap<string, SecurityScheme>, bearerQuery: string | false): ReadonlySet<string> {
  const names = new Set<string>(bearerQuery === false ? [] : [bearerQuery])
  for (const scheme of schemes.values()) {
    const document = scheme.openapi()
    if (document.type === 'apiKey' && document.in === 'query') names.add(document.name)
  }
  return names
}

// Any route may see a query credential (`request.currentUser()` reads the bearer query token on
// demand): its log line leaves them out, through the logger's own serializer, unless the route
// serializes its requests itself
function redactQueryCredentials (instance: FastifyInstance, routeOptions: RouteOptions, names: ReadonlySet<string>): void {
  if (names.size === 0 || routeOptions.logSerializers?.req !== undefined) return
  const req = requestWithoutParameters(names, loggerRequestSerializer(instance.log))
  routeOptions.logSerializers = { ...routeOptions.logSerializers, req }
}

/**
 * Declares a requirement for every route registered later in this encapsulation
 * context and its children; it combines with the routes' own (scopes accumulate).
 */
export function requireSecurity (this: FastifyInstance, requirement: SecurityRequirement | SecurityRequirement[]): void {
  const requirements = Array.isArray(requirement) ? requirement : [requirement]
  if (requirements.length === 0 || !requirements.every(isSecurityRequirement)) {
    throw new InvalidOptionError('requireSecurity()', 'takes a non-empty array of { schemeName: [scopes] } objects')
  }
  const context = this as FastifyInstance & SecurityContext
  const inherited = context[kContextSecurity]
  context[kContextSecurity] = inherited === undefined ? [...requirements] : combineRequirements(inherited, requirements)
}

function declaredSecurity (routeOptions: RouteOptions): SecurityRequirement[] | undefined {
  const declared = (routeOptions.schema as { security?: unknown } | undefined)?.security
  if (declared === undefined) return undefined
  if (!Array.isArray(declared) || !declared.every(isSecurityRequirement)) {
    throw new InvalidOptionError(`schema.security of ${routeOptions.method} ${routeOptions.url}`, 'must be an array of { schemeName: [scopes] } objects')
  }
  return declared
}

/** The route's effective requirement: its own (or the default), combined with its contexts'. */
function effectiveSecurity (context: SecurityRequirement[] | undefined, routeOptions: RouteOptions, config: RouteSecurityConfig): SecurityRequirement[] | undefined {
  // `schema.hide` changes the document only: a hidden route is enforced like any other
  const own = declaredSecurity(routeOptions) ?? config.defaultSecurity?.map((entry) => ({ ...entry }))
  if (context === undefined) return own
  // `security: []` opts out of the plugin default only: a context's requirement always holds
  return own === undefined || own.length === 0 ? context : combineRequirements(context, own)
}

// Custom error handlers may not apply error.headers: put the challenges on the reply too
function challengeOnReply (reply: FastifyReply, error: unknown): void {
  // The plugin's refusals are logged at debug; errors of the app's own code are the app's to log
  if (isCatalogueError(error)) quietRefusal(reply, Number(error.statusCode))
  const headers = (error as { headers?: Record<string, string | string[]> }).headers
  if (headers !== undefined) reply.headers(headers)
}

function enforceAny (requirement: CompiledRequirement) {
  return async function requireRouteSecurity (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const [primary] = await authenticateRequest(request, requirement)
      request.auth = primary === undefined ? null : requestAuthentication(primary)
    } catch (error) {
      challengeOnReply(reply, error)
      throw error
    }
  }
}

/**
 * The common case, one scheme: a callback hook that stays synchronous when the
 * scheme is (a cached token, an in-memory user store), so admitting a request
 * costs no promise and no search over alternatives.
 */
function enforceSole (requirement: CompiledRequirement, scheme: SecurityScheme, scopes: readonly string[]) {
  function refuse (reply: FastifyReply, done: HookHandlerDoneFunction, error: unknown): void {
    if (!isCatalogueError(error)) {
      done(error as Error)
      return
    }
    const refusal = refuseSoleScheme(requirement, error)
    challengeOnReply(reply, refusal)
    done(refusal)
  }

  function admit (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, auth: Authentication | null): void {
    if (auth === null) {
      refuse(reply, done, new MissingCredentialsError())
    } else if (!hasAllScopes(scopes, auth.scopes)) {
      refuse(reply, done, new InsufficientScopeError())
    } else {
      request.auth = requestAuthentication(auth)
      done()
    }
  }

  return function requireSoleScheme (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    let outcome: ReturnType<SecurityScheme['authenticate']>
    try {
      outcome = scheme.authenticate(request)
    } catch (error) {
      refuse(reply, done, error)
      return
    }
    if (isPromiseLike(outcome)) {
      Promise.resolve(outcome).then((auth) => admit(request, reply, done, auth), (error: unknown) => refuse(reply, done, error))
    } else {
      admit(request, reply, done, outcome)
    }
  }
}

type Enforcer = ReturnType<typeof enforceAny> | ReturnType<typeof enforceSole>

function enforce (requirement: CompiledRequirement): Enforcer {
  const alternative = requirement.alternatives.length === 1 && !requirement.anonymous ? requirement.alternatives[0] : undefined
  const sole = alternative?.length === 1 ? alternative[0] : undefined
  return sole === undefined ? enforceAny(requirement) : enforceSole(requirement, sole.scheme, sole.scopes)
}

/**
 * The onRoute hook: reads each route's requirement, checks it against the schemes
 * at startup, writes it into the route schema (so the OpenAPI document shows exactly
 * what runs) and installs the onRequest hook that enforces it.
 */
export function routeSecurity (config: RouteSecurityConfig) {
  return function securityOnRoute (this: FastifyInstance, routeOptions: RouteOptions): void {
    routeOptions.config = { ...routeOptions.config, [kSeen]: true } as RouteOptions['config']
    redactQueryCredentials(this, routeOptions, config.queryCredentials)
    const security = effectiveSecurity((this as FastifyInstance & SecurityContext)[kContextSecurity], routeOptions, config)
    if (security === undefined) return
    const label = `${String(routeOptions.method)} ${routeOptions.url}`
    const requirement = compileRequirement(security, config.schemes, label)
    routeOptions.schema = { ...routeOptions.schema, security } as RouteOptions['schema']
    if (requirement.alternatives.length === 0) return
    config.document(routeOptions, requirement)
    const existing = routeOptions.onRequest
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]
    routeOptions.onRequest = [enforce(requirement), ...hooks]
  }
}

/**
 * A hook on every route of the plugin's context, those registered before the plugin
 * included (Fastify's onRoute hooks never see those): a route the plugin did not see
 * that declares `schema.security` is enforced here, so enforcement never depends on
 * registration order. Its requirement is compiled on its first request; one naming
 * an unknown scheme or scope then fails that request (500) and is logged with the route.
 */
export function earlyRouteGuard (config: Pick<RouteSecurityConfig, 'schemes'>) {
  const enforcers = new WeakMap<object, Enforcer>()

  function enforcerOf (schema: object, security: unknown, label: string): Enforcer {
    let enforcer = enforcers.get(schema)
    if (enforcer === undefined) {
      if (!Array.isArray(security) || !security.every(isSecurityRequirement)) {
        throw new InvalidOptionError(`schema.security of ${label}`, 'must be an array of { schemeName: [scopes] } objects')
      }
      enforcer = enforce(compileRequirement(security, config.schemes, label))
      enforcers.set(schema, enforcer)
    }
    return enforcer
  }

  return function guardUnseenRoute (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
    const { config: routeConfig, schema, method, url } = request.routeOptions
    const security = (schema as { security?: unknown } | undefined)?.security
    if (security === undefined || (routeConfig as unknown as Record<symbol, unknown>)[kSeen] === true) {
      done()
      return
    }
    let enforcer: Enforcer
    try {
      enforcer = enforcerOf(schema as object, security, `${String(method)} ${String(url)}`)
    } catch (error) {
      done(error as Error)
      return
    }
    runHook(enforcer, request, reply, done)
  }
}

// The sole-scheme hook takes a callback, the any-of hook is async: run either as a callback hook
function runHook (enforcer: Enforcer, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void {
  if (enforcer.length === 3) {
    (enforcer as (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void)(request, reply, done)
    return
  }
  (enforcer as (request: FastifyRequest, reply: FastifyReply) => Promise<void>)(request, reply).then(() => done(), done)
}
