import t from 'tap'
import { FrequencySketch } from '../../lib/jwt/frequency-sketch.js'
import { tokenFingerprint } from '../../lib/jwt/verified-token-cache.js'

// The sketch counts the cache's fingerprints, of the last 8 characters (a real token's signature): name and index end the string
const fingerprint = (name: string, index = 0): number => tokenFingerprint(`header.payload.${name}-${index}`)

t.test('counts uses up to 15 and tells tokens apart', async (t) => {
  const sketch = new FrequencySketch(1_000)
  for (let use = 0; use < 3; use++) sketch.increment(fingerprint('a'))
  sketch.increment(fingerprint('b'))
  t.equal(sketch.frequency(fingerprint('a')), 3)
  t.equal(sketch.frequency(fingerprint('b')), 1)
  t.equal(sketch.frequency(fingerprint('c')), 0)
  for (let use = 0; use < 40; use++) sketch.increment(fingerprint('a'))
  t.equal(sketch.frequency(fingerprint('a')), 15, 'saturates')
})

t.test('halves every count after ten increments per entry, so past popularity fades', async (t) => {
  const sketch = new FrequencySketch(16)
  for (let use = 0; use < 8; use++) sketch.increment(fingerprint('old'))
  for (let use = 0; use < 160 - 8 - 1; use++) sketch.increment(fingerprint('other', use))
  t.equal(sketch.frequency(fingerprint('old')), 8, 'not yet at the 159th increment')
  sketch.increment(fingerprint('other', 1_000))
  t.equal(sketch.frequency(fingerprint('old')), 4, 'halved at the 160th')
  for (let use = 0; use < 160; use++) sketch.increment(fingerprint('more', use))
  t.equal(sketch.frequency(fingerprint('old')), 2, 'and again 160 increments later')
})

t.test('a use of a token already at 15 brings the reset no closer', async (t) => {
  const sketch = new FrequencySketch(16)
  for (let use = 0; use < 8; use++) sketch.increment(fingerprint('regular'))
  // 15 real increments, then hammering that changes no counter
  for (let use = 0; use < 10_000; use++) sketch.increment(fingerprint('hammered'))
  t.equal(sketch.frequency(fingerprint('regular')), 8, 'hammering one token cannot age the others')
})

t.test('conservative update: a cell shared with a frequent token does not inflate a rare one', async (t) => {
  // Enough tokens in a small sketch that some share a cell with the frequent one; none shares both
  const sketch = new FrequencySketch(16)
  for (let use = 0; use < 10; use++) sketch.increment(fingerprint('frequent'))
  const rare = Array.from({ length: 100 }, (_, index) => fingerprint('rare', index))
  for (const name of rare) sketch.increment(name)
  t.ok(rare.every((name) => sketch.frequency(name) <= 2), 'each rare token counts at most one collision more')
  t.equal(sketch.frequency(fingerprint('frequent')), 10)
})

t.test('its memory stays bounded whatever the cache size', async (t) => {
  // Uncapped, 2^40 entries would ask for a 16 TiB array and throw
  const sketch = new FrequencySketch(2 ** 40)
  sketch.increment(tokenFingerprint('a.b.c'))
  t.equal(sketch.frequency(tokenFingerprint('a.b.c')), 1)
})
