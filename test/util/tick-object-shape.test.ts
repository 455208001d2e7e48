import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { childEnvironment } from '../helpers/child-env.js'

// Node builds each process.nextTick tick object from one object literal; V8 keeps a cache per property
// definition of that literal. A full collection taken while no tick is pending used to turn those
// caches megamorphic for the rest of the process (every tick object then built in V8's runtime).
// The child prints V8's own view of nextTick; the states are read from it.

const CHILD = fileURLToPath(new URL('../helpers/next-tick-state.ts', import.meta.url))

async function nextTick (): Promise<void> {
  await new Promise<void>((resolve) => { process.nextTick(resolve) })
}

async function tickLiteralStates (app: 'plugin' | 'none'): Promise<string[]> {
  // V8 prints through C's stdio, which drops what a non-blocking pipe refuses: the child writes to a file
  const folder = mkdtempSync(join(tmpdir(), 'next-tick-state-'))
  const file = join(folder, 'stdout')
  const output = openSync(file, 'w')
  try {
    const child = spawn(process.execPath, ['--allow-natives-syntax', '--expose-gc', '--import', 'tsx', CHILD, app], {
      env: childEnvironment(),
      stdio: ['ignore', output, 'inherit']
    })
    const [code] = await once(child, 'exit') as [number | null]
    if (code !== 0) throw new Error(`the child exited with ${String(code)}`)
    return [...readFileSync(file, 'utf8').matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map((match) => match[1] as string)
  } finally {
    closeSync(output)
    rmSync(folder, { recursive: true, force: true })
  }
}

t.test('without the plugin, a full collection between ticks leaves nextTick megamorphic (what the plugin prevents)', async (t) => {
  const states = await tickLiteralStates('none')
  t.ok(states.length >= 4, `the literal defines its properties (${states.length})`)
  t.ok(states.includes('MEGAMORPHIC'), `states: ${states.join(' ')}`)
})

t.test('with the plugin loaded, nextTick stays monomorphic through full collections', async (t) => {
  const states = await tickLiteralStates('plugin')
  t.ok(states.length >= 4, `the literal defines its properties (${states.length})`)
  t.same(states, states.map(() => 'MONOMORPHIC'))
})

t.test('the tick object is taken once, in the next tick, however often it is asked for', async (t) => {
  let taken = 0
  const { keepTickObjectShape } = await t.mockImport<typeof import('../../lib/util/tick-object-shape.js')>(
    '../../lib/util/tick-object-shape.js', { 'node:async_hooks': { executionAsyncResource: () => { taken++; return {} } } })
  keepTickObjectShape()
  keepTickObjectShape()
  t.equal(taken, 0, 'not before the next tick')
  await nextTick()
  t.equal(taken, 1)
  keepTickObjectShape()
  await nextTick()
  t.equal(taken, 1, 'kept for the life of the process')
})

t.test('the kept tick object lets go of the context its tick carried (a store, a frame); ids and callback stay', async (t) => {
  const store = { request: 'data of the request that first loaded the plugin' }
  const tick: Record<PropertyKey, unknown> = { callback: () => {}, args: ['argument'], [Symbol('async_id')]: 7, [Symbol('store')]: store }
  const { keepTickObjectShape } = await t.mockImport<typeof import('../../lib/util/tick-object-shape.js')>(
    '../../lib/util/tick-object-shape.js', { 'node:async_hooks': { executionAsyncResource: () => tick } })
  const keys = Reflect.ownKeys(tick)
  keepTickObjectShape()
  await nextTick()
  t.same(Reflect.ownKeys(tick), keys, 'the same keys, in the same order: the same shape')
  t.equal(typeof tick.callback, 'function')
  t.equal(tick.args, undefined)
  t.same(Object.getOwnPropertySymbols(tick).map((symbol) => tick[symbol]), [7, undefined], 'the id stays, the store is dropped')
})
