import t from 'tap'
import { exceedsPasswordLimit, hashingParameters, hashPassword, needsRehash, verifyPassword } from '../../lib/passwords/password-hashing.js'

// Small Argon2id parameters keep the suite fast; the defaults are OWASP's
const ARGON2 = { algorithm: 'argon2id', memoryCost: 64, timeCost: 1, parallelism: 1 } as const

t.test('hashingParameters: bcrypt 12 by default, a number is a bcrypt cost, Argon2id with OWASP defaults', async (t) => {
  t.same(hashingParameters(), { algorithm: 'bcrypt', cost: 12 })
  t.same(hashingParameters(10), { algorithm: 'bcrypt', cost: 10 })
  t.same(hashingParameters({ algorithm: 'bcrypt', cost: 5 }), { algorithm: 'bcrypt', cost: 5 })
  t.same(hashingParameters({ algorithm: 'argon2id' }), { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 2, parallelism: 1 })
  t.same(hashingParameters({ algorithm: 'argon2id', timeCost: 3, memoryCost: undefined }), { algorithm: 'argon2id', memoryCost: 19_456, timeCost: 3, parallelism: 1 })
  t.ok(Object.isFrozen(hashingParameters(ARGON2)))
  t.throws(() => hashingParameters({ algorithm: 'argon2' as 'argon2id' }), { name: 'TypeError', message: 'algorithm must be "bcrypt" or "argon2id", got "argon2"' })
  t.throws(() => hashingParameters(3), { name: 'RangeError', message: /^cost / })
  t.throws(() => hashingParameters({ algorithm: 'argon2id', parallelism: 2, memoryCost: 8 }), { name: 'RangeError', message: /^memoryCost must be an integer from 16 / })
})

t.test('hashPassword and verifyPassword: either algorithm, either format verified', async (t) => {
  const bcrypt = await hashPassword('secret', { cost: 4 })
  const argon2 = await hashPassword('secret', ARGON2)
  t.match(bcrypt, /^\$2b\$04\$/)
  t.match(argon2, /^\$argon2id\$v=19\$m=64,t=1,p=1\$/)
  for (const hash of [bcrypt, argon2]) {
    t.equal(await verifyPassword('secret', hash), true)
    t.equal(await verifyPassword('wrong', hash), false)
    t.equal(await verifyPassword(42 as unknown as string, hash), false, 'not a string')
  }
  t.equal(await verifyPassword('secret', 'not a hash'), false)
})

t.test('the 72-byte rule is bcrypt\'s only', async (t) => {
  const long = 'x'.repeat(100)
  await t.rejects(hashPassword(long, { cost: 4 }), { code: 'FST_OAUTH2_PASSWORD_TOO_LONG' })
  const hash = await hashPassword(long, ARGON2)
  t.equal(await verifyPassword(long, hash), true)
  t.equal(await verifyPassword('x'.repeat(99), hash), false)
  await t.rejects(hashPassword(1 as unknown as string, ARGON2), { name: 'TypeError', message: 'password must be a string, got number' })
  t.equal(exceedsPasswordLimit('x'.repeat(73), 72), true)
  t.equal(exceedsPasswordLimit('x'.repeat(72), 72), false)
  t.equal(exceedsPasswordLimit('x'.repeat(10_000), null), false)
})

t.test('needsRehash: another algorithm or weaker parameters than the target', async (t) => {
  const bcrypt = await hashPassword('secret', { cost: 5 })
  const argon2 = await hashPassword('secret', { ...ARGON2, timeCost: 2 })
  t.equal(needsRehash(bcrypt, 5), false, 'a number is a bcrypt cost')
  t.equal(needsRehash(bcrypt, 6), true)
  t.equal(needsRehash(bcrypt, { cost: 4 }), false)
  t.equal(needsRehash(bcrypt), true, 'default: bcrypt 12')
  t.equal(needsRehash(bcrypt, { algorithm: 'argon2id' }), true, 'bcrypt → Argon2id')
  t.equal(needsRehash(argon2, { cost: 4 }), true, 'Argon2id → bcrypt')
  t.equal(needsRehash(argon2, { algorithm: 'argon2id' }), true, 'below the OWASP defaults')
  t.equal(needsRehash(argon2, { ...ARGON2, timeCost: 2 }), false)
  t.equal(needsRehash(argon2, ARGON2), false, 'stronger than the target')
  t.equal(needsRehash(argon2, { ...ARGON2, memoryCost: 128 }), false, 'the same work: half the memory, twice the passes')
  t.equal(needsRehash(argon2, { ...ARGON2, memoryCost: 256 }), true)
  t.equal(needsRehash('garbage', ARGON2), true)
  // OWASP's equivalent Argon2id configurations: less memory made up by more passes, or the reverse
  const memoryHard = await hashPassword('secret', { ...ARGON2, memoryCost: 256, timeCost: 1 })
  t.equal(needsRehash(memoryHard, { ...ARGON2, memoryCost: 64, timeCost: 2 }), false, 'more memory, fewer passes, more work')
  t.equal(needsRehash(memoryHard, { ...ARGON2, memoryCost: 128, timeCost: 3 }), true, 'less work')
  t.throws(() => needsRehash(bcrypt, { algorithm: 'md5' as 'bcrypt' }), { name: 'TypeError' })
})
