import type { FastifyReply, FastifyRequest } from 'fastify'

// pino's numeric levels: debug is 20; a logger whose level is above it does not log debug lines
const DEBUG = 20

/**
 * Makes a refused request's remaining log lines debug-level: unless the logger
 * logs debug, the error handler's line for the refusal (about 290 bytes, Fastify
 * writes 4xx errors at info) and the request's completion line are not written.
 * A flood of bad credentials then cannot fill a disk at the default level.
 */
export function quietRefusal (request: FastifyRequest, reply: FastifyReply): void {
  const log = reply.log
  const levelValue = (log as { levelVal?: unknown }).levelVal
  if (typeof levelValue !== 'number' || levelValue <= DEBUG) return
  const quiet = log.child({}, { level: 'warn' })
  reply.log = quiet
  request.log = quiet
}
