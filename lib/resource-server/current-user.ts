import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { MissingCredentialsError, isCatalogueError } from '../errors.js'
import { withChallenges } from './requirements.js'
import { requestAuthentication } from './request-authentication.js'
import type { Authentication, SecurityScheme } from '../schemes/security-scheme.js'
import type { CurrentUser } from '../types.js'

/** Options of `request.currentUser()`. */
export interface CurrentUserOptions {
  /** Resolve `null` instead of refusing when the request has no credentials (bad credentials are still refused). */
  optional?: boolean
}

export interface CurrentUserResolver {
  (this: FastifyRequest): Promise<CurrentUser>
  (this: FastifyRequest, options: { optional: true }): Promise<CurrentUser | null>
  (this: FastifyRequest, options?: CurrentUserOptions): Promise<CurrentUser | null>
}

/**
 * Builds `request.currentUser()`. On a route whose requirement already authenticated
 * a user it returns that user; elsewhere it authenticates the bearer token on demand,
 * as FastAPI's `Depends(get_current_user)` does, once per request, and records the
 * result in `request.auth` when nothing else has.
 */
export function currentUserResolver (bearer: SecurityScheme, userSchemes: ReadonlySet<string>): CurrentUserResolver {
  const pending = new WeakMap<FastifyRequest, Promise<Authentication | null>>()

  async function authenticateOnDemand (request: FastifyRequest): Promise<Authentication | null> {
    try {
      return await bearer.authenticate(request)
    } catch (error) {
      throw isCatalogueError(error) ? withChallenges(error, [bearer.challenge(error, [])]) : error
    }
  }

  async function currentUser (this: FastifyRequest, options?: CurrentUserOptions): Promise<CurrentUser | null> {
    const known = this.auth
    if (known !== null && userSchemes.has(known.scheme)) return known.principal as CurrentUser
    let authentication = pending.get(this)
    if (authentication === undefined) {
      authentication = authenticateOnDemand(this)
      pending.set(this, authentication)
    }
    const resolved = await authentication
    // What authenticated the request is worth the same to the handler however it was found
    if (resolved !== null && this.auth === null) this.auth = requestAuthentication(resolved)
    if (resolved === null) {
      if (options?.optional === true) return null
      throw withChallenges(new MissingCredentialsError(), [bearer.challenge(null, [])])
    }
    return resolved.principal as CurrentUser
  }
  return currentUser as CurrentUserResolver
}

/**
 * The plugin's onError hook: puts a refusal's headers (its `WWW-Authenticate`
 * challenges) on the reply before any error handler runs. Fastify's default handler
 * applies `error.headers` itself; an app's own `setErrorHandler` usually does not, and
 * a refusal from `request.currentUser()` has no reply of its own to put them on.
 */
export async function challengeOnError (_request: FastifyRequest, reply: FastifyReply, error: FastifyError): Promise<void> {
  const headers = isCatalogueError(error) ? (error as { headers?: Record<string, string | string[]> }).headers : undefined
  if (headers !== undefined) reply.headers(headers)
}
