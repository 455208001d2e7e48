import type { FastifyRequest } from 'fastify'
import {
  InsufficientScopeError,
  isCatalogueError,
  MissingCredentialsError,
  UnknownSchemeError,
  UnknownScopeError,
  type AuthenticationError
} from './errors.js'
import { missingScopes } from './scopes.js'
import type { Authentication, SecurityRequirement, SecurityScheme } from './schemes/security-scheme.js'

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
  FST_OAUTH2_INSUFFICIENT_SCOPE: 4,
  FST_OAUTH2_MALFORMED_CREDENTIALS: 3,
  FST_OAUTH2_INVALID_TOKEN: 2,
  FST_OAUTH2_INVALID_CREDENTIALS: 2,
  FST_OAUTH2_MISSING_CREDENTIALS: 1
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

/** Runs one alternative; each scheme is tried at most once per request (`attempts` memoises). */
async function tryAlternative (
  alternative: readonly RequiredScheme[],
  request: FastifyRequest,
  attempts: Map<SecurityScheme, Attempt>
): Promise<Authentication[] | Failure> {
  const proven: Authentication[] = []
  for (const { scheme, scopes } of alternative) {
    let pending = attempts.get(scheme)
    if (pending === undefined) {
      pending = attempt(scheme, request)
      attempts.set(scheme, pending)
    }
    const outcome = await pending
    if (outcome === null) return { scheme, scopes, error: new MissingCredentialsError() }
    if (!isAuthentication(outcome)) return { scheme, scopes, error: outcome }
    if (missingScopes(scopes, outcome.scopes).length > 0) return { scheme, scopes, error: new InsufficientScopeError() }
    proven.push(outcome)
  }
  return proven
}

/** The `WWW-Authenticate` challenges of a refusal: one per scheme the route accepts. */
function challenges (requirement: CompiledRequirement, decisive: Failure | undefined, failures: readonly Failure[]): string[] {
  return requirement.schemes.map((scheme) => {
    const failure = decisive?.scheme === scheme ? decisive : failures.find((f) => f.scheme === scheme)
    const error = failure === undefined || failure.error.code === 'FST_OAUTH2_MISSING_CREDENTIALS' ? null : failure.error
    return scheme.challenge(error, failure?.scopes ?? [])
  })
}

/** Attaches the challenges to a refusal, so Fastify's error handler sends them (it applies `error.headers`). */
export function withChallenges (error: AuthenticationError, values: readonly string[]): AuthenticationError {
  const header = values.length === 1 ? values[0] : [...values]
  Object.defineProperty(error, 'headers', { value: { 'www-authenticate': header }, enumerable: false, writable: true })
  return error
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
    if (Array.isArray(outcome)) return outcome
    failures.push(outcome)
  }
  const decisive = failures.reduce<Failure | undefined>((best, failure) => best === undefined || rank(failure) > rank(best) ? failure : best, undefined)
  // `{}` admits requests without credentials, never requests with bad ones
  if (requirement.anonymous && (decisive === undefined || rank(decisive) === 1)) return []
  const error = decisive?.error ?? new MissingCredentialsError()
  throw withChallenges(error, challenges(requirement, decisive, failures))
}
