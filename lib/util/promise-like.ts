/**
 * Whether `value` is a thenable. User stores and schemes may answer with any
 * PromiseLike (a mongoose Query, a knex builder), not only native promises, so
 * the synchronous fast paths must not test with `instanceof Promise`.
 */
export function isPromiseLike<T> (value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
}
