/**
 * Levenshtein distance between two names, in single-character edits. Option
 * names are short, so the quadratic table costs nothing at startup.
 */
function editDistance (a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution)
    }
    previous = current
  }
  return previous[b.length] as number
}

/**
 * The name among `known` closest to `name` (case-insensitive edit distance), so
 * an error can say what was probably meant. Ties go to the first in `known`.
 *
 * @example
 * nearestName('acessTokenTtl', ['tokenUrl', 'accessTokenTtl']) // 'accessTokenTtl'
 */
export function nearestName (name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}
