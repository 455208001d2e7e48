import { executionAsyncResource } from 'node:async_hooks'

let tickObject: object | undefined

/**
 * Keeps one of Node's `process.nextTick` tick objects alive for the life of the
 * process, so the hidden classes (V8 maps) of every tick object stay alive too.
 * Idempotent; never throws. The object is taken in the next tick.
 *
 * Why: `nextTick` builds each tick object from one object literal with computed keys
 * (`{ [async_id_symbol], [trigger_async_id_symbol], callback, args }` in Node 20; Node
 * 22.7 adds a key). V8's cache for that literal's property definitions goes from
 * monomorphic straight to megamorphic on the first map it does not know, and the maps of
 * short-lived tick objects die in any full garbage collection taken while no tick is
 * pending: one such collection (an app's startup, an idle server's memory reducer) makes
 * every later tick object be built in V8's runtime, about 8% of a small request, for the
 * rest of the process. A tick object kept alive holds its map, and through it the whole
 * chain of maps its literal walks. Inside a tick's callback the tick object is the
 * current execution's resource (public `async_hooks` API, no hook installed), whatever
 * keys a Node release gives it. It must run before the first such collection: the
 * plugin calls it when its module is loaded.
 */
export function keepTickObjectShape (): void {
  if (tickObject !== undefined) return
  tickObject = {}
  process.nextTick(function keepTickObject () {
    tickObject = withoutContext(executionAsyncResource())
  })
}

// A tick scheduled inside a context (an AsyncLocalStorage store, an async context frame, what an
// init hook attached) carries it on the tick object: kept, it would pin that context for good.
// Writing `undefined` keeps the keys, so the object keeps its map; the ids are numbers, left alone.
function withoutContext (tick: object): object {
  for (const key of Reflect.ownKeys(tick)) {
    if (key !== 'callback' && typeof Reflect.get(tick, key) !== 'number') Reflect.set(tick, key, undefined)
  }
  return tick
}
