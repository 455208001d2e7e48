/**
 * Whether `value` is an integer from `minimum` to `maximum` (both included, safe
 * integers only): the one check behind every count, size and cost option.
 */
export function isIntegerFromTo (value: unknown, minimum: number, maximum = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= minimum && value <= maximum
}
