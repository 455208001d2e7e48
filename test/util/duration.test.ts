import t from 'tap'
import { parseDuration } from '../../lib/util/duration.js'

t.test('whole seconds', async (t) => {
  t.equal(parseDuration(1), 1)
  t.equal(parseDuration(900), 900)
  t.equal(parseDuration(Number.MAX_SAFE_INTEGER), Number.MAX_SAFE_INTEGER)
})

t.test('strings with a unit', async (t) => {
  t.equal(parseDuration('45s'), 45)
  t.equal(parseDuration('30m'), 1800)
  t.equal(parseDuration('1h'), 3600)
  t.equal(parseDuration('7d'), 604_800)
  t.equal(parseDuration('007m'), 420, 'leading zeros are digits like any other')
})

t.test('anything else is null', async (t) => {
  for (const value of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
    t.equal(parseDuration(value), null, String(value))
  }
  for (const value of ['', '0m', '0s', '30', '30x', '30 m', ' 30m', '30m ', '-1m', '1.5h', '1H', 'm', '1w', '30ms', '1e3s', '99999999999999999d']) {
    t.equal(parseDuration(value), null, JSON.stringify(value))
  }
  for (const value of [undefined, null, true, {}, [], 10n]) {
    t.equal(parseDuration(value), null, typeof value)
  }
})

t.test('zero only when allowed', async (t) => {
  for (const value of [0, -0, '0s', '0m', '0h', '0d', '000s']) {
    t.equal(parseDuration(value), null, `${String(value)} refused by default`)
    t.equal(Object.is(parseDuration(value, true), 0), true, `${String(value)} is 0 when allowed`)
  }
  t.equal(parseDuration(-1, true), null)
  t.equal(parseDuration('-1s', true), null)
  t.equal(parseDuration('30m', true), 1800)
  t.equal(parseDuration(undefined, true), null)
})
