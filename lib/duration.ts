const DURATION = /^(\d+)(s|m|h|d)$/
const SECONDS_PER_UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * Parses a lifetime given as whole seconds (`900`) or a short string (`'15m'`, `'1h'`, `'7d'`).
 * Returns `null` for anything else, so the caller can name the option in its error.
 *
 * @example
 * parseDuration('30m') // 1800
 */
export function parseDuration (value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : null
  if (typeof value !== 'string') return null
  const match = DURATION.exec(value)
  if (match === null) return null
  const seconds = Number(match[1]) * (SECONDS_PER_UNIT[match[2] as string] as number)
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : null
}
