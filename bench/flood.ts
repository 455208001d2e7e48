import { start, type Load } from './harness.js'

// A login flood in its own process (started by run.ts): its connections get their own
// event loop, so the measured load is not slowed by the flood's client side.
//
//   node --import tsx bench/flood.ts '<Load as JSON>'
// prints "started", then on SIGTERM (or at the end of the load) one JSON line: the Sample.

const load = JSON.parse(process.argv[2] ?? '') as Load
const running = start(load)
process.once('SIGTERM', function stopFlood () {
  running.stop()
})
process.stdout.write('started\n')
process.stdout.write(`${JSON.stringify(await running.done)}\n`)
