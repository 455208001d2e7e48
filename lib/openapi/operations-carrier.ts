import type { FastifyInstance, RouteOptions } from 'fastify'

/** `@fastify/swagger`'s plugin name, as `fastify.hasPlugin()` knows it. */
const SWAGGER_PLUGIN = '@fastify/swagger'

// A host pattern no request matches: the copies are for the document, never for routing
const NO_HOST = /(?!)/

/**
 * An onRoute hook for apps that register `@fastify/swagger` after this plugin.
 * `@fastify/swagger` only collects routes registered after it, so it never sees the
 * plugin's own operations (token, revocation, JWKS), and the token route's transform
 * that adds the security schemes: the document would lack them, and fail on the first
 * route naming a scheme. This records those routes (by their full paths in `ownPaths`)
 * and, before the first route that `@fastify/swagger` does see, registers a copy of
 * each with the same schema, config (the token route's transform) and handler, under
 * a host constraint no request meets: the document is the one of the other order,
 * and the app routes as before.
 */
export function pluginOperationsCarrier (instance: FastifyInstance, ownPaths: ReadonlySet<string>) {
  // Registered before this plugin, @fastify/swagger collects the plugin's routes itself
  let carried = instance.hasPlugin(SWAGGER_PLUGIN)
  const own: RouteOptions[] = []
  return function carryPluginOperations (routeOptions: RouteOptions): void {
    if (carried) return
    if (!instance.hasPlugin(SWAGGER_PLUGIN)) {
      // The 405 routes of the same paths are hidden: only the documented operations are carried
      if (ownPaths.has(routeOptions.url) && routeOptions.schema?.hide !== true) own.push(routeOptions)
      return
    }
    carried = true
    for (const { method, url, schema, config, handler, validatorCompiler } of own) {
      instance.route({
        method,
        url: url.slice(instance.prefix.length),
        schema,
        config,
        handler,
        ...(validatorCompiler === undefined ? {} : { validatorCompiler }),
        constraints: { host: NO_HOST },
        exposeHeadRoute: false
      })
    }
  }
}
