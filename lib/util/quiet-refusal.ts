import type { FastifyReply } from 'fastify'

// pino's numeric levels: debug is 20; a logger whose level is above it does not log debug lines
const DEBUG = 20

/**
 * The one rule for the plugin's answers in the log: a refusal (4xx) writes its
 * remaining log lines at debug, a failure of ours (5xx) keeps them. Unless the
 * logger logs debug, a refused request's error line (about 290 bytes, Fastify
 * writes 4xx errors at info) and its completion line are not written, so a flood
 * of bad credentials cannot fill a disk at the default level. Called wherever the
 * plugin refuses: protected routes, the token and revocation endpoints, their 405.
 */
export function quietRefusal (reply: FastifyReply, statusCode: number): void {
  if (!(statusCode < 500)) return
  const log = reply.log
  const levelValue = (log as { levelVal?: unknown }).levelVal
  if (typeof levelValue !== 'number' || levelValue <= DEBUG) return
  // Fastify writes its error and completion lines through reply.log; request.log stays the app's,
  // so its own lines for the request (an audit of the failed login) are still written
  reply.log = log.child({}, { level: 'warn' })
}
