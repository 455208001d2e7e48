import { createHash } from 'node:crypto'
import t from 'tap'
import { textEquality } from '../../lib/util/equal-text.js'

// The constant-time comparison of digests and MACs by their base64 or base64url spelling.

function digest (value: string): string {
  return createHash('sha256').update(value).digest('base64url')
}

t.test('equal only when every character is: the first, a middle one and the last each count', async (t) => {
  const equal = textEquality(43)
  const mac = digest('a message')
  t.equal(equal(mac, mac), true)
  t.equal(equal(mac, digest('a message')), true, 'the same text from another string')
  for (const position of [0, 21, 42]) {
    const other = mac.slice(0, position) + (mac.charAt(position) === 'A' ? 'B' : 'A') + mac.slice(position + 1)
    t.equal(equal(mac, other), false, `differing at ${position}`)
    t.equal(equal(other, mac), false, `differing at ${position}, the other way round`)
  }
})

t.test('a string of another length is unequal, even one that starts with the other', async (t) => {
  const equal = textEquality(43)
  const mac = digest('a message')
  t.equal(equal(mac, `${mac}A`), false)
  t.equal(equal(`${mac}A`, `${mac}A`), false, 'both too long: not the comparison\'s length')
  t.equal(equal(mac.slice(0, 42), mac.slice(0, 42)), false, 'both too short')
  t.equal(equal('', ''), false)
})

t.test('each comparison stands alone: none sees what an earlier one held', async (t) => {
  const short = textEquality(43)
  const long = textEquality(86)
  const macs = ['one', 'two', 'three'].map(digest)
  const longMac = createHash('sha512').update('x').digest('base64url')
  const outcomes = []
  for (const [index, mac] of macs.entries()) {
    outcomes.push(short(mac, mac), long(longMac, longMac), short(mac, macs[(index + 1) % 3] as string))
  }
  t.same(outcomes, [true, true, false, true, true, false, true, true, false])
})
