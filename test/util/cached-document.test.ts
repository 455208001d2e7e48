import t from 'tap'
import { cachedDocument } from '../../lib/util/cached-document.js'

function clock () {
  let now = 0
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

t.test('loads once, shares a pending load, reloads when older than maxAge', async (t) => {
  const time = clock()
  let loads = 0
  const document = cachedDocument(async () => ++loads, { maxAgeMs: 100, cooldownMs: 10, now: time.now })
  t.same(await Promise.all([document.get(), document.get()]), [1, 1])
  t.equal(await document.get(), 1)
  time.advance(99)
  t.equal(await document.get(), 1)
  time.advance(1)
  t.equal(await document.get(), 2)
})

t.test('refresh reloads at most once per cooldown', async (t) => {
  const time = clock()
  let loads = 0
  const document = cachedDocument(async () => ++loads, { maxAgeMs: 1000, cooldownMs: 30, now: time.now })
  t.equal(await document.get(), 1)
  t.equal(await document.refresh(), 1, 'within the cooldown: the current value')
  time.advance(30)
  t.equal(await document.refresh(), 2)
  t.equal(await document.refresh(), 2)
})

t.test('a failed first load is rethrown until the cooldown ends, then retried', async (t) => {
  const time = clock()
  let fail = true
  let loads = 0
  const document = cachedDocument(async () => {
    loads++
    if (fail) throw new Error('down')
    return 'up'
  }, { maxAgeMs: 1000, cooldownMs: 50, now: time.now })
  await t.rejects(document.get(), { message: 'down' })
  fail = false
  await t.rejects(document.get(), { message: 'down' })
  t.equal(loads, 1)
  time.advance(50)
  t.equal(await document.get(), 'up')
  t.equal(loads, 2)
})

t.test('a failed reload keeps serving the last good value', async (t) => {
  const time = clock()
  let fail = false
  const document = cachedDocument(async () => {
    if (fail) throw new Error('down')
    return time.now()
  }, { maxAgeMs: 100, cooldownMs: 10, now: time.now })
  t.equal(await document.get(), 0)
  fail = true
  time.advance(100)
  t.equal(await document.get(), 0)
  t.equal(await document.refresh(), 0, 'within the cooldown after the failure')
  fail = false
  time.advance(10)
  t.equal(await document.get(), 110)
})
