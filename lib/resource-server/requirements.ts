import type { FastifyRequest } from 'fastify'
import {
  InsufficientScopeError,
  isCatalogueError,
  MissingCredentialsError,
  UnknownSchemeError,
  UnknownScopeError,
  type AuthenticationError,
  withRefusalHeaders
} from '../errors.js'
import { missingScopes } from '../protocol/scopes.js'
import type { Authentication, SecurityRequirement, SecurityScheme } from '../schemes/security-scheme.js'
import { isRecord } from '../util/is-record.js'

/** One scheme of an alternative with the scopes it must grant. */
interface RequiredScheme {
  readonly scheme: SecurityScheme
  readonly scopes: readonly string[]
}

/** A route's requirement, checked against the registered schemes and ready to enforce. */
export interface CompiledRequirement {
  /** Alternatives in declared order; each lists the schemes that must all succeed. */
  readonly alternatives: ReadonlyArray<readonly RequiredScheme[]>
  /** Whether `{}` is among the alternatives (anonymous access allowed). */
  readonly anonymous: boolean
  /** Every scheme named by the requirement, once, in order of appearance. */
  readonly schemes: readonly SecurityScheme[]
}

/** Why a request failed one scheme of one alternative. */
interface Failure {
  readonly scheme: SecurityScheme
  readonly scopes: readonly string[]
  readonly error: AuthenticationError
}

// Which failure explains a refusal best: a valid principal without a scope (403) beats
// malformed credentials (400), which beat bad credentials (401), which beat none at all.
const PRECEDENCE: Record<string, number> = {
  FST_OAUTH2_AUTHENTICATION_UNAVAILABLE: 5,
  FST_OAUTH2_TEMPORARILY_UNAVAILABLE: 5,
  FST_OAUTH2_INSUFFICIENT_SCOPE: 4,
  FST_OAUTH2_MALFORMED_CREDENTIALS: 3,
  FST_OAUTH2_INVALID_TOKEN: 2,
  FST_OAUTH2_INVALID_CREDENTIALS: 2,
  FST_OAUTH2_MISSING_CREDENTIALS: 1
}

/** Whether `value` is an OpenAPI Security Requirement Object (scheme name → scope names). */
export function isSecurityRequirement (value: unknown): value is SecurityRequirement {
  return isRecord(value) && Object.values(value).every((scopes) => Array.isArray(scopes) && scopes.every((scope) => typeof scope === 'string'))
}

function rank (failure: Failure): number {
  return PRECEDENCE[failure.error.code] ?? 2
}

/**
 * Checks a requirement against the registered schemes: every scheme must exist
 * and every scope must be declared by its scheme. Throws at startup otherwise.
 */
export function compileRequirement (
  requirement: readonly SecurityRequirement[],
  registry: ReadonlyMap<string, SecurityScheme>,
  route: string
): CompiledRequirement {
  const schemes = new Map<string, SecurityScheme>()
  const alternatives = requirement.map((entry) => Object.entries(entry).map(([name, scopes]) => {
    const scheme = registry.get(name)
    if (scheme === undefined) throw new UnknownSchemeError(route, name)
    for (const scope of scopes) {
      if (scheme.scopes === null || !scheme.scopes.has(scope)) throw new UnknownScopeError(route, scope, name)
    }
    schemes.set(name, scheme)
    return { scheme, scopes: [...scopes] }
  }))
  return {
    alternatives: alternatives.filter((alternative) => alternative.length > 0),
    anonymous: alternatives.some((alternative) => alternative.length === 0),
    schemes: [...schemes.values()]
  }
}

/**
 * Requirements that must both hold (a parent context's and a route's): every
 * pair of alternatives merged, scopes of a shared scheme united. This is how
 * FastAPI's SecurityScopes accumulate down the dependency tree.
 */
export function combineRequirements (outer: readonly SecurityRequirement[], inner: readonly SecurityRequirement[]): SecurityRequirement[] {
  const combined: SecurityRequirement[] = []
  for (const left of outer) {
    for (const right of inner) {
      const merged: Record<string, readonly string[]> = { ...left }
      for (const [name, scopes] of Object.entries(right)) {
        merged[name] = [...new Set([...(merged[name] ?? []), ...scopes])]
      }
      combined.push(merged)
    }
  }
  return combined
}

type Attempt = Promise<Authentication | AuthenticationError | null>

async function attempt (scheme: SecurityScheme, request: FastifyRequest): Attempt {
  try {
    return await scheme.authenticate(request)
  } catch (error) {
    // Only this catalogue's errors are refusals; anything else (a database down) stays a server error
    if (isCatalogueError(error)) return error
    throw error
  }
}

function isAuthentication (outcome: Authentication | AuthenticationError | null): outcome is Authentication {
  return outcome !== null && !(outcome instanceof Error)
}

/**
 * Runs one alternative; each scheme is tried at most once per request (`attempts` memoises).
 * Every scheme of the alternative is tried even after one failed, so the most informative
 * failure is known whatever the declared order (a 403 behind a missing API key, say).
 */
async function tryAlternative (
  alternative: readonly RequiredScheme[],
  request: FastifyRequest,
  attempts: Map<SecurityScheme, Attempt>
): Promise<{ proven: Authentication[], failures: Failure[] }> {
  const proven: Authentication[] = []
  const failures: Failure[] = []
  for (const { scheme, scopes } of alternative) {
    let pending = attempts.get(scheme)
    if (pending === undefined) {
      pending = attempt(scheme, request)
      attempts.set(scheme, pending)
    }
    const outcome = await pending
    if (outcome === null) failures.push({ scheme, scopes, error: new MissingCredentialsError() })
    else if (!isAuthentication(outcome)) failures.push({ scheme, scopes, error: outcome })
    else if (missingScopes(scopes, outcome.scopes).length > 0) failures.push({ scheme, scopes, error: new InsufficientScopeError() })
    else proven.push(outcome)
  }
  return { proven, failures }
}

/** The `WWW-Authenticate` challenges of a refusal: one per scheme the route accepts. */
function challenges (requirement: CompiledRequirement, decisive: Failure | undefined, failures: readonly Failure[]): string[] {
  return requirement.schemes.flatMap((scheme) => {
    const failure = decisive?.scheme === scheme ? decisive : failures.find((f) => f.scheme === scheme)
    const error = failure === undefined || failure.error.code === 'FST_OAUTH2_MISSING_CREDENTIALS' ? null : failure.error
    return scheme.challenge(error, failure?.scopes ?? [])
  })
}

/** The refusal of a requirement with a single scheme, built without the general search. */
export function refuseSoleScheme (requirement: CompiledRequirement, error: AuthenticationError): AuthenticationError {
  const { scheme, scopes } = requirement.alternatives[0]?.[0] as RequiredScheme
  const failure = { scheme, scopes, error }
  return withChallenges(error, challenges(requirement, failure, [failure]))
}

/** Attaches the challenges to a refusal, so Fastify's error handler sends them (it applies `error.headers`). */
export function withChallenges (error: AuthenticationError, values: ReadonlyArray<string | readonly string[]>): AuthenticationError {
  const flat = values.flat()
  const header = flat.length === 1 ? flat[0] : flat
  // Merged with the headers the error already has (Retry-After of a 503)
  return withRefusalHeaders(error, { 'www-authenticate': header })
}

/**
 * Enforces a compiled requirement: the first alternative whose schemes all succeed
 * wins and its authentications are returned; `[]` means anonymous access. When none
 * succeeds, throws the most informative failure with every scheme's challenge.
 */
export async function authenticateRequest (request: FastifyRequest, requirement: CompiledRequirement): Promise<Authentication[]> {
  const attempts = new Map<SecurityScheme, Attempt>()
  const failures: Failure[] = []
  for (const alternative of requirement.alternatives) {
    const outcome = await tryAlternative(alternative, request, attempts)
    if (outcome.failures.length === 0) return outcome.proven
    failures.push(...outcome.failures)
  }
  const decisive = failures.reduce<Failure | undefined>((best, failure) => best === undefined || rank(failure) > rank(best) ? failure : best, undefined)
  // `{}` admits requests without credentials, never requests with bad ones
  if (requirement.anonymous && (decisive === undefined || rank(decisive) === 1)) return []
  const error = decisive?.error ?? new MissingCredentialsError()
  throw withChallenges(error, challenges(requirement, decisive, failures))
}
