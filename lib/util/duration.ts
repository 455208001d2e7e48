const DURATION = /^(\d+)(s|m|h|d)$/
const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * Parses a lifetime given as whole seconds (`900`) or a short string (`'15m'`, `'1h'`, `'7d'`).
 * Zero (`0`, `'0s'`, `'0m'`…) is refused unless `allowZero`. Returns `null` for anything
 * else, so the caller can name the option in its error.
 *
 * @example
 * parseDuration('30m') // 1800
 * parseDuration('0s', true) // 0
 */
export function parseDuration (value: unknown, allowZero = false): number | null {
  let seconds: number
  if (typeof value === 'number') {
    seconds = value
  } else if (typeof value === 'string') {
    const match = DURATION.exec(value)
    if (match === null) return null
    seconds = Number(match[1]) * (SECONDS_PER_UNIT[match[2] as string] as number)
  } else {
    return null
  }
  if (!Number.isSafeInteger(seconds) || seconds < 0) return null
  // Normalises -0 as well
  if (seconds === 0) return allowZero ? 0 : null
  return seconds
}
