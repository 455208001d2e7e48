/** What of an error goes to the log. */
export interface LoggableError {
  readonly type: string
  readonly message: string
  readonly code?: string
  readonly stack?: string
}

/**
 * An error as it may be logged: its name, message, code and stack, and nothing
 * else. A driver's error carries more than its story: ioredis puts the failed
 * command's arguments on `command.args` (user ids, family ids, SHA-256 hashes of
 * refresh tokens), which a logger's error serializer would write out in full.
 *
 * @example
 * log.error({ err: loggableError(err) }, 'token store unavailable')
 */
export function loggableError (error: unknown): LoggableError {
  if (!(error instanceof Error)) return { type: typeof error, message: 'A non-error value was thrown' }
  const code = (error as { code?: unknown }).code
  return {
    type: error.name,
    message: error.message,
    ...(typeof code === 'string' ? { code } : {}),
    ...(error.stack === undefined ? {} : { stack: error.stack })
  }
}
