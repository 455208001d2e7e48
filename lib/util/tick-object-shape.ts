import { AsyncResource } from 'node:async_hooks'

// Node's own keys for an async resource's ids: `process.nextTick` writes them first in each tick object
const ASYNC_ID = 'async_id_symbol'
const TRIGGER_ASYNC_ID = 'trigger_async_id_symbol'

let tickObjectShape: object | undefined

/**
 * Keeps the hidden classes (V8 maps) of Node's `process.nextTick` tick objects alive
 * for the life of the process. Idempotent; never throws.
 *
 * Why: `nextTick` builds each tick object from an object literal with computed keys
 * (`{ [async_id_symbol], [trigger_async_id_symbol], callback, args }`). V8's cache for
 * such a literal's property definitions goes from monomorphic straight to megamorphic
 * on the first map it does not know, and the maps of short-lived tick objects die in
 * any full garbage collection taken while no tick is pending: one such collection
 * (an app's startup, or an idle server's memory reducer) makes every later tick object
 * be built in V8's runtime, about 8% of a small request, for the rest of the process.
 * One object built with the same keys in the same order walks the same map transitions
 * and holds those maps alive. The ids are `null` so the id fields start as general as
 * any later value makes them (a number generalizes them in place, never replacing the map).
 *
 * Uses public APIs only (`AsyncResource` carries Node's two id symbols); when a Node
 * release names them otherwise, nothing is kept and nothing changes.
 */
export function keepTickObjectShape (): void {
  if (tickObjectShape !== undefined) return
  const resource = new AsyncResource('fastify-oauth2-password')
  const symbols = Object.getOwnPropertySymbols(resource)
  resource.emitDestroy()
  const asyncId = symbols.find((symbol) => symbol.description === ASYNC_ID)
  const triggerAsyncId = symbols.find((symbol) => symbol.description === TRIGGER_ASYNC_ID)
  tickObjectShape = asyncId === undefined || triggerAsyncId === undefined
    ? {}
    : { [asyncId]: null, [triggerAsyncId]: null, callback: keepTickObjectShape, args: undefined }
}
