import type { FastifyContextConfig, FastifySchema, RouteShorthandOptions } from 'fastify'
import { InvalidOptionError } from '../errors.js'
import { isRecord } from '../util/is-record.js'

// The route-level hooks Fastify accepts; `onRoute` and the app hooks are not route options
const HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse', 'onTimeout', 'onError'] as const
type HookName = typeof HOOKS[number]

/** Documentation fields of the plugin's own route that an app may set (OpenAPI Operation Object). */
export interface EndpointRouteSchema {
  tags?: string[]
  summary?: string
  description?: string
  operationId?: string
}

/**
 * Route options an app may give the plugin's own routes (`tokenRoute`, `revokeRoute`):
 * `config` (e.g. `@fastify/rate-limit`'s `rateLimit`), route hooks, and documentation.
 * The plugin keeps its own parser, error rendering and response schemas.
 */
export type EndpointRouteOptions = Pick<RouteShorthandOptions, HookName> & {
  config?: FastifyContextConfig
  schema?: EndpointRouteSchema
}

function fail (name: string, expected: string): never {
  throw new InvalidOptionError(name, expected)
}

function assertHooks (name: string, value: unknown): void {
  const hooks = Array.isArray(value) ? value : [value]
  if (hooks.length === 0 || !hooks.every((hook) => typeof hook === 'function')) fail(name, 'must be a function or an array of functions')
}

function assertSchema (name: string, schema: unknown): void {
  if (!isRecord(schema)) fail(name, 'must be an object')
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'tags') {
      if (!Array.isArray(value) || !value.every((tag) => typeof tag === 'string')) fail(`${name}.tags`, 'must be an array of strings')
    } else if (['summary', 'description', 'operationId'].includes(key)) {
      if (typeof value !== 'string' || value === '') fail(`${name}.${key}`, 'must be a non-empty string')
    } else {
      fail(`${name}.${key}`, 'is not a route schema field the plugin takes (tags, summary, description, operationId)')
    }
  }
}

function assertRouteOption (name: string, key: string, option: unknown): void {
  if ((HOOKS as readonly string[]).includes(key)) assertHooks(name, option)
  else if (key === 'schema') assertSchema(name, option)
  else if (key !== 'config') fail(name, `is not a route option the plugin takes (config, schema, ${HOOKS.join(', ')})`)
  else if (!isRecord(option)) fail(name, 'must be an object')
}

/**
 * Validates `tokenRoute`/`revokeRoute`: only `config`, route hooks and `schema`'s
 * documentation fields, each of the right type. Throws `FST_OAUTH2_INVALID_OPTION`.
 */
export function resolveEndpointRouteOptions (name: string, value: unknown): Readonly<EndpointRouteOptions> {
  if (value === undefined) return Object.freeze({})
  if (!isRecord(value)) fail(name, 'must be an object')
  for (const [key, option] of Object.entries(value)) assertRouteOption(`${name}.${key}`, key, option)
  return Object.freeze({ ...value }) as Readonly<EndpointRouteOptions>
}

/**
 * The plugin's route options with the app's on top: the app's hooks and config are
 * added, its documentation fields replace the plugin's; the plugin's own `config`
 * keys (its swagger transform) and its response schemas stay.
 */
export function withEndpointRouteOptions (own: RouteShorthandOptions & { schema: FastifySchema, config?: FastifyContextConfig }, app: Readonly<EndpointRouteOptions>): RouteShorthandOptions {
  const { config, schema, ...hooks } = app
  return {
    ...hooks,
    ...own,
    config: { ...config, ...own.config },
    schema: { ...own.schema, ...schema }
  }
}
