// Run as a child process (node --allow-natives-syntax --expose-gc --import tsx), with `plugin` or
// `none` as its argument: starts an app with or without the plugin (imported only for `plugin`),
// takes full garbage collections while no tick is pending, ticks again, and prints V8's view of
// process.nextTick (its feedback).
import Fastify from 'fastify'

async function tick (count: number): Promise<void> {
  for (let round = 0; round < count; round++) await new Promise<void>((resolve) => { process.nextTick(resolve) })
}

const app = Fastify({ logger: false })
if (process.argv[2] === 'plugin') {
  const { default: oauth2Password } = await import('../../lib/index.js')
  await app.register(oauth2Password, {
    secret: 'next-tick-state-secret-of-32-bytes-or-more',
    users: { findByUsername: () => null, findById: () => null }
  })
}
await app.ready()
await tick(20)
const collect = (globalThis as { gc?: () => void }).gc
await new Promise<void>((resolve) => setTimeout(() => { collect?.(); collect?.(); resolve() }, 10))
await tick(20)
// Natives syntax only parses under --allow-natives-syntax, so it is compiled here, not written inline
// eslint-disable-next-line no-new-func -- V8's own diagnostics: what the test reads
new Function('%DebugPrint(process.nextTick)')()
await app.close()
