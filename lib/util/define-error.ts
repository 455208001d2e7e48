import createError, { type FastifyErrorConstructor } from '@fastify/error'

/**
 * `@fastify/error`'s `createError`, typed by its named `FastifyErrorConstructor`.
 * It lives apart from the error catalogue so that the catalogue's declarations name
 * that type: with `createError` in scope, TypeScript writes
 * `createError.FastifyErrorConstructor`, which consumers compiling to CommonJS
 * (node10 resolution) cannot resolve.
 */
export function defineError<C extends string, SC extends number> (
  code: C,
  message: string,
  statusCode: SC,
  Base?: ErrorConstructor,
  captureStackTrace?: boolean
): FastifyErrorConstructor<{ code: C, statusCode: SC }> {
  return createError(code, message, statusCode, Base, captureStackTrace)
}
