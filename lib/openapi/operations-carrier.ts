import type { FastifyInstance, RouteOptions } from 'fastify'
import type { SwaggerTransform } from '@fastify/swagger'

/** `@fastify/swagger`'s plugin name, as `fastify.hasPlugin()` knows it. */
const SWAGGER_PLUGIN = '@fastify/swagger'

// The router matches the path before a `#` (a URL fragment never reaches a server), so a copy
// registered at `<path>#openapi` is never routed. A constraint (host, version) would also keep
// requests away, but would make the router derive constraints for every request of the app
const UNROUTABLE_SUFFIX = '#openapi'

/** The route's own transform (or none), with the operation documented at `url`. */
function documentedAt (url: string, own: SwaggerTransform | false | undefined): SwaggerTransform {
  return function documentAtRoutedPath (input) {
    const result = typeof own === 'function' ? own(input) : { schema: input.schema, url: input.url }
    return { ...result, url }
  }
}

/**
 * An onRoute hook for apps that register `@fastify/swagger` after this plugin.
 * `@fastify/swagger` only collects routes registered after it, so it never sees the
 * plugin's own operations (token, revocation, JWKS), nor the token route's transform
 * that adds the security schemes: the document would lack them, and fail on the first
 * route naming a scheme. This records those routes (by their full paths in `ownPaths`)
 * and, before the first route that `@fastify/swagger` does see, registers a copy of
 * each that the router never reaches, documented at the original path with the same
 * schema, handler and transform (the token route's adds the schemes).
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
        url: `${url.slice(instance.prefix.length)}${UNROUTABLE_SUFFIX}`,
        schema,
        config: { ...config, swaggerTransform: documentedAt(url, config?.swaggerTransform) },
        handler,
        ...(validatorCompiler === undefined ? {} : { validatorCompiler }),
        exposeHeadRoute: false
      })
    }
  }
}
