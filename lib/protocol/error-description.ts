// RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ), no quote, no backslash
const DESCRIPTION_CHARACTER = /^[\x20\x21\x23-\x5B\x5D-\x7E]$/

/**
 * An `error_description` in RFC 6749 §5.2's characters (printable ASCII without `"`
 * or `\`), the one rendering every token, revocation and challenge answer uses: a
 * double quote becomes `'`, a backslash `/`, any other character outside the set `?`.
 * The plugin's own messages are already in the set; this keeps an app's (a user
 * store throwing `InvalidGrantError` with its own text) from breaking the grammar.
 *
 * @example
 * toErrorDescription('The "scope" is bad') // "The 'scope' is bad"
 */
export function toErrorDescription (message: string): string {
  let description = ''
  for (const character of message) {
    if (DESCRIPTION_CHARACTER.test(character)) description += character
    else description += character === '"' ? "'" : character === '\\' ? '/' : '?'
  }
  return description === '' ? '?' : description
}

/** Whether `text` is already a valid RFC 6749 §5.2 `error_description`. */
export function isErrorDescription (text: string): boolean {
  return /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/.test(text)
}
