import { InvalidRequestError, InvalidScopeError } from '../../errors.js'
import { parseScope } from '../../protocol/scopes.js'
import type { FormParameters } from '../../protocol/form-body.js'

/** Reads a required parameter; RFC 6749 §3.1 treats an empty one as omitted. */
export function requireParameter (parameters: FormParameters, name: string): string {
  const value = parameters[name]
  if (value === undefined) throw new InvalidRequestError(`The ${name} parameter is missing`)
  return value
}

/**
 * The `scope` parameter as declared scope tokens: `invalid_scope` when it is
 * malformed or names a scope this server does not declare (RFC 6749 §5.2).
 */
export function requestedScopes (parameters: FormParameters, declared: ReadonlySet<string>): string[] {
  const value = parameters.scope
  if (value === undefined) return []
  const scopes = parseScope(value)
  if (scopes === null) throw new InvalidScopeError('The scope parameter is malformed')
  if (!scopes.every((scope) => declared.has(scope))) throw new InvalidScopeError('The requested scope is not declared by this server')
  return scopes
}
