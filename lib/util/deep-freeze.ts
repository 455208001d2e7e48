/**
 * Freezes `value` and everything reachable from it, in place, and returns it.
 * Shared values (cached claims, resolved options) are frozen so no reader can change
 * what the next one sees. Already frozen objects are not walked again.
 */
export function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const member of Object.values(value)) deepFreeze(member)
  }
  return value
}
