import t from 'tap'
import { ConcurrencyGate, GateFullError } from '../../lib/util/concurrency-gate.js'

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (reason: unknown) => void
}

function deferred<T> (): Deferred<T> {
  let settleWith!: Pick<Deferred<T>, 'resolve' | 'reject'>
  const promise = new Promise<T>((resolve, reject) => { settleWith = { resolve, reject } })
  return { promise, ...settleWith }
}

// Lets every pending promise callback run, so the gate reaches a steady state.
function settle (): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve) })
}

t.test('runs a job and settles as it does', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 0 })
  t.equal(await gate.run(async () => 42), 42)
  await t.rejects(gate.run(async () => { throw new Error('boom') }), { message: 'boom' })
  t.equal(gate.running, 0)
  t.equal(gate.queued, 0)
})

t.test('bounds the number of jobs running at once', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 3, maxQueue: 20 })
  let active = 0
  let maxActive = 0
  async function job (): Promise<void> {
    active++
    maxActive = Math.max(maxActive, active)
    await settle()
    active--
  }
  const runs = Array.from({ length: 20 }, () => gate.run(job))
  t.equal(gate.running, 3)
  t.equal(gate.queued, 17)
  await Promise.all(runs)
  t.equal(maxActive, 3)
  t.equal(gate.running, 0)
  t.equal(gate.queued, 0)
})

t.test('starts waiting jobs in arrival order', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 10 })
  const started: number[] = []
  const gates = Array.from({ length: 5 }, () => deferred<void>())
  const runs = gates.map((d, i) => gate.run(async () => { started.push(i); await d.promise }))
  await settle()
  t.same(started, [0])
  // Finish them out of order: only the head of the line is running, so order holds.
  gates[4]?.resolve()
  gates[3]?.resolve()
  await settle()
  t.same(started, [0])
  gates[0]?.resolve()
  await settle()
  t.same(started, [0, 1])
  gates[1]?.resolve()
  gates[2]?.resolve()
  await Promise.all(runs)
  t.same(started, [0, 1, 2, 3, 4])
})

t.test('a waiting job keeps its turn against a newcomer', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 2 })
  const order: string[] = []
  const first = deferred<void>()
  const runs = [
    gate.run(async () => { order.push('first'); await first.promise }),
    gate.run(async () => { order.push('waiting') })
  ]
  first.resolve()
  // Arrives while the slot is being handed to the waiting job.
  await first.promise
  runs.push(gate.run(async () => { order.push('newcomer') }))
  await Promise.all(runs)
  t.same(order, ['first', 'waiting', 'newcomer'])
  t.equal(gate.running, 0)
})

t.test('a job that throws or rejects frees its slot', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 2 })
  const results = await Promise.allSettled([
    gate.run(async () => { throw new Error('async failure') }),
    gate.run(() => { throw new Error('sync failure') }),
    gate.run(async () => 'still runs')
  ])
  t.match(results, [
    { status: 'rejected', reason: { message: 'async failure' } },
    { status: 'rejected', reason: { message: 'sync failure' } },
    { status: 'fulfilled', value: 'still runs' }
  ])
  t.equal(gate.running, 0)
  t.equal(gate.queued, 0)
})

t.test('rejects at once when every slot is busy and the queue is full', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 2, maxQueue: 1 })
  const release = deferred<void>()
  let calls = 0
  async function job (): Promise<void> {
    calls++
    await release.promise
  }
  const runs = [gate.run(job), gate.run(job), gate.run(job)]
  t.equal(gate.running, 2)
  t.equal(gate.queued, 1)

  let rejected: unknown
  gate.run(job).catch((err: unknown) => { rejected = err })
  await Promise.resolve()
  await Promise.resolve()
  t.type(rejected, GateFullError, 'rejected without waiting for a slot')
  t.match(rejected, { name: 'GateFullError', retryAfterSeconds: 1, message: 'Concurrency gate is full, retry in 1s' })
  t.equal(calls, 2, 'the refused job was never called')
  t.equal(gate.queued, 1, 'the refused job was not queued')

  release.resolve()
  await Promise.all(runs)
  t.equal(calls, 3)
  t.equal(await gate.run(async () => 'room again'), 'room again')
})

t.test('maxQueue 0 refuses as soon as every slot is busy', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 0 })
  const release = deferred<void>()
  const running = gate.run(() => release.promise)
  await t.rejects(gate.run(async () => {}), GateFullError)
  release.resolve()
  await running
})

t.test('retryAfterSeconds follows the mean job duration, the queue length and the slots', async (t) => {
  let clock = 0
  const gate = new ConcurrencyGate({ maxConcurrent: 2, maxQueue: 6, now: () => clock })

  async function timedJob (ms: number): Promise<void> {
    await gate.run(async () => { clock += ms })
  }
  // A first observation sets the mean: 1000 ms.
  await timedJob(1000)

  const release = deferred<void>()
  const runs = Array.from({ length: 8 }, () => gate.run(() => release.promise))
  t.equal(gate.running, 2)
  t.equal(gate.queued, 6)
  // 1000 ms × 6 queued / 2 slots = 3 s.
  await t.rejects(gate.run(async () => {}), { name: 'GateFullError', retryAfterSeconds: 3 })
  release.resolve()
  await Promise.all(runs)

  // The mean moves towards recent durations (moving mean, weight 0.2):
  // the 8 jobs above took 0 ms, so the mean is now 1000 × 0.8^8 ≈ 168 ms.
  const hold = deferred<void>()
  const held = Array.from({ length: 8 }, () => gate.run(() => hold.promise))
  // 168 ms × 6 / 2 ≈ 0.5 s, rounded up.
  await t.rejects(gate.run(async () => {}), { name: 'GateFullError', retryAfterSeconds: 1 })
  hold.resolve()
  await Promise.all(held)
})

t.test('retryAfterSeconds rounds up and is at least 1 second', async (t) => {
  let clock = 0
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 2, now: () => clock })
  await gate.run(async () => { clock += 1250 })
  const hold = deferred<void>()
  const held = [gate.run(() => hold.promise), gate.run(() => hold.promise), gate.run(() => hold.promise)]
  // 1250 ms × 2 / 1 = 2.5 s → 3 s.
  await t.rejects(gate.run(async () => {}), { name: 'GateFullError', retryAfterSeconds: 3 })
  hold.resolve()
  await Promise.all(held)

  const fresh = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 0 })
  const busy = deferred<void>()
  const running = fresh.run(() => busy.promise)
  await t.rejects(fresh.run(async () => {}), { name: 'GateFullError', retryAfterSeconds: 1 }, 'no observation yet')
  busy.resolve()
  await running
})

t.test('measures durations with the real clock by default', async (t) => {
  const gate = new ConcurrencyGate({ maxConcurrent: 1, maxQueue: 1 })
  await gate.run(() => new Promise((resolve) => { setTimeout(resolve, 20) }))
  const hold = deferred<void>()
  const held = [gate.run(() => hold.promise), gate.run(() => hold.promise)]
  await t.rejects(gate.run(async () => {}), { name: 'GateFullError', retryAfterSeconds: 1 })
  hold.resolve()
  await Promise.all(held)
})

t.test('validates its options', async (t) => {
  t.throws(() => new ConcurrencyGate({ maxConcurrent: 0, maxQueue: 0 }), {
    name: 'RangeError',
    message: 'maxConcurrent must be an integer of at least 1, got 0'
  })
  t.throws(() => new ConcurrencyGate({ maxConcurrent: 1.5, maxQueue: 0 }), { name: 'RangeError', message: /^maxConcurrent / })
  t.throws(() => new ConcurrencyGate({ maxConcurrent: Number.NaN, maxQueue: 0 }), { name: 'RangeError', message: /^maxConcurrent / })
  t.throws(() => new ConcurrencyGate({ maxConcurrent: '2' as unknown as number, maxQueue: 0 }), {
    name: 'TypeError',
    message: 'maxConcurrent must be an integer of at least 1, got string'
  })
  t.throws(() => new ConcurrencyGate({ maxConcurrent: 1, maxQueue: -1 }), {
    name: 'RangeError',
    message: 'maxQueue must be an integer of at least 0, got -1'
  })
  t.throws(() => new ConcurrencyGate({ maxConcurrent: 1, maxQueue: Infinity }), { name: 'RangeError', message: /^maxQueue / })
  t.throws(() => new ConcurrencyGate({ maxConcurrent: 1 } as unknown as { maxConcurrent: number, maxQueue: number }), {
    name: 'TypeError',
    message: 'maxQueue must be an integer of at least 0, got undefined'
  })
  const gate = new ConcurrencyGate({ maxConcurrent: 4, maxQueue: 0 })
  t.equal(gate.maxConcurrent, 4)
  t.equal(gate.maxQueue, 0)
})
