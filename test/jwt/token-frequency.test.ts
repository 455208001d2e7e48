import t from 'tap'
import { TokenFrequency } from '../../lib/jwt/token-frequency.js'

t.test('counts uses up to 15 and tells tokens apart', async (t) => {
  const frequency = new TokenFrequency(1_000)
  for (let use = 0; use < 3; use++) frequency.add('header.payload.signatureA')
  frequency.add('header.payload.signatureB')
  t.equal(frequency.estimate('header.payload.signatureA'), 3)
  t.equal(frequency.estimate('header.payload.signatureB'), 1)
  t.equal(frequency.estimate('header.payload.signatureC'), 0)
  for (let use = 0; use < 40; use++) frequency.add('header.payload.signatureA')
  t.equal(frequency.estimate('header.payload.signatureA'), 15, 'saturates')
})

t.test('halves every count after ten additions per entry, so past popularity fades', async (t) => {
  const frequency = new TokenFrequency(16)
  for (let use = 0; use < 8; use++) frequency.add('old.favourite')
  t.equal(frequency.estimate('old.favourite'), 8)
  for (let use = 0; use < 160 - 8; use++) frequency.add(`other.${use.toString().padStart(8, '0')}`)
  t.equal(frequency.estimate('old.favourite'), 4, 'halved at the 160th addition')
})

t.test('its memory stays bounded whatever the cache size', async (t) => {
  const frequency = new TokenFrequency(100_000_000)
  frequency.add('a.b.c')
  t.equal(frequency.estimate('a.b.c'), 1)
})
