/**
 * Scope values (RFC 6749 §3.3): parse, format, narrow and check.
 * Scope sets are `ReadonlySet<string>`s (a {@link ScopeSet} that serializes as a list) so membership checks stay O(1) on the hot path.
 */

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/

/** Whether `value` is a syntactically valid scope token. */
export function isScopeToken (value: string): boolean {
  return SCOPE_TOKEN.test(value)
}

/**
 * Parses a space-delimited `scope` parameter into its tokens, in order, without duplicates.
 * Returns `null` when the value breaks the grammar (empty tokens, other whitespace, forbidden characters).
 *
 * @example
 * parseScope('me items') // ['me', 'items']
 * parseScope('me  items') // null (RFC 6749 §3.3 delimits with exactly one space)
 */
export function parseScope (value: string): string[] | null {
  if (value === '') return []
  // RFC 6749 §3.3: scope = scope-token *( SP scope-token )
  const tokens = value.split(' ')
  for (const token of tokens) {
    if (!isScopeToken(token)) return null
  }
  return [...new Set(tokens)]
}

/** Formats scope tokens as the space-delimited string RFC 6749 §3.3 prescribes. */
export function formatScope (scopes: Iterable<string>): string {
  return [...scopes].join(' ')
}

/**
 * The scopes to grant: the requested ones the user is allowed, or all the user's
 * scopes when none were requested (RFC 6749 §3.3 lets the server pick a default).
 */
export function grantScopes (requested: readonly string[], allowed: readonly string[]): string[] {
  if (requested.length === 0) return [...allowed]
  const allowedSet = new Set(allowed)
  return requested.filter((scope) => allowedSet.has(scope))
}

/** The required scopes missing from `granted`, in their declared order. */
export function missingScopes (required: readonly string[], granted: ReadonlySet<string>): string[] {
  return required.filter((scope) => !granted.has(scope))
}

/** Whether `granted` holds every scope of `required` (the hot-path form of {@link missingScopes}). */
export function hasAllScopes (required: readonly string[], granted: ReadonlySet<string>): boolean {
  for (const scope of required) {
    if (!granted.has(scope)) return false
  }
  return true
}

/**
 * A set of granted scopes that serializes as their list: `JSON.stringify` and
 * loggers (pino) turn a plain `Set` into `{}`, which hides what a request was
 * granted from the app's logs and responses.
 *
 * @example
 * JSON.stringify(new ScopeSet(['me', 'items'])) // '["me","items"]'
 */
export class ScopeSet extends Set<string> {
  /** The scopes in insertion order, for `JSON.stringify`. */
  toJSON (): string[] {
    return [...this]
  }
}

/** An empty, shared {@link ScopeSet} for credentials that carry no scopes. */
export const NO_SCOPES: ReadonlySet<string> = new ScopeSet()

/**
 * `scopes` as a {@link ScopeSet}: the same object when it already is one (the
 * built-in schemes' case, so the hot path allocates nothing), a copy otherwise
 * (an app's own scheme or test override returning a plain `Set`).
 */
export function scopeSetOf (scopes: Iterable<string>): ReadonlySet<string> {
  return scopes instanceof ScopeSet ? scopes : new ScopeSet(scopes)
}
