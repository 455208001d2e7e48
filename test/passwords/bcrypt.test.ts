import t from 'tap'
import * as bcrypt from '@node-rs/bcrypt'
import {
  assertBcryptCost,
  BCRYPT_MAX_PASSWORD_BYTES,
  DEFAULT_BCRYPT_COST,
  hashPassword,
  isBcryptHash,
  needsRehash,
  verifyPassword
} from '../../lib/passwords/bcrypt.js'
import { PasswordTooLongError } from '../../lib/errors.js'

const COST = 4
// 24 × '€' (3 UTF-8 bytes each) sits exactly on bcrypt's limit.
const EURO_72_BYTES = '€'.repeat(24)

t.test('constants', async (t) => {
  t.equal(BCRYPT_MAX_PASSWORD_BYTES, 72)
  t.equal(DEFAULT_BCRYPT_COST, 12)
})

t.test('hashPassword and verifyPassword round trip', async (t) => {
  const hash = await hashPassword('secret', { cost: COST })
  t.match(hash, /^\$2b\$04\$[./A-Za-z0-9]{53}$/)
  t.equal(await verifyPassword('secret', hash), true)
  t.equal(await verifyPassword('Secret', hash), false)
  t.equal(await verifyPassword('', hash), false)
  t.not(await hashPassword('secret', { cost: COST }), hash, 'each hash has its own salt')
})

t.test('hashPassword uses cost 12 by default', async (t) => {
  const hash = await hashPassword('secret')
  t.match(hash, /^\$2b\$12\$/)
  t.equal(await verifyPassword('secret', hash), true)
})

t.test('hashPassword accepts an empty password', async (t) => {
  const hash = await hashPassword('', { cost: COST })
  t.equal(await verifyPassword('', hash), true)
  t.equal(await verifyPassword('x', hash), false)
})

t.test('unicode passwords: 72 bytes accepted, 73 refused, never truncated', async (t) => {
  t.equal(Buffer.byteLength(EURO_72_BYTES), 72)
  const hash = await hashPassword(EURO_72_BYTES, { cost: COST })
  t.equal(await verifyPassword(EURO_72_BYTES, hash), true)
  t.equal(await verifyPassword('€'.repeat(23), hash), false)

  // 73 bytes: a hash of the first 72 would match it if the input were truncated.
  const over = EURO_72_BYTES + 'a'
  t.equal(Buffer.byteLength(over), 73)
  const err = await hashPassword(over, { cost: COST }).catch((err: unknown) => err)
  t.type(err, PasswordTooLongError)
  t.type(err, RangeError)
  t.match(err, { code: 'FST_OAUTH2_PASSWORD_TOO_LONG', statusCode: 400 })
  t.equal(await verifyPassword(over, hash), false)

  // A multi-byte character straddling the limit: 71 ASCII bytes + '€' = 74 bytes.
  await t.rejects(hashPassword('a'.repeat(71) + '€', { cost: COST }), { code: 'FST_OAUTH2_PASSWORD_TOO_LONG' })
})

t.test('ASCII passwords at the limit', async (t) => {
  const hash = await hashPassword('a'.repeat(72), { cost: COST })
  t.equal(await verifyPassword('a'.repeat(72), hash), true)
  t.equal(await verifyPassword('a'.repeat(73), hash), false, 'a longer password never matches')
  await t.rejects(hashPassword('a'.repeat(73), { cost: COST }), { code: 'FST_OAUTH2_PASSWORD_TOO_LONG' })
})

t.test('non-ASCII passwords hash by their UTF-8 bytes', async (t) => {
  const hash = await hashPassword('pässwörd 🔑', { cost: COST })
  t.equal(await verifyPassword('pässwörd 🔑', hash), true)
  t.equal(await verifyPassword('passwords 🔑', hash), false)
})

t.test('verifyPassword accepts $2a$, $2b$ and $2y$ hashes', async (t) => {
  const hash = await hashPassword('secret', { cost: COST })
  for (const prefix of ['$2a$', '$2b$', '$2y$']) {
    const variant = prefix + hash.slice(4)
    t.equal(await verifyPassword('secret', variant), true, prefix)
    t.equal(await verifyPassword('wrong', variant), false, prefix)
  }
  // Known vector from OpenBSD's bcrypt test suite, made elsewhere with $2a$.
  t.equal(await verifyPassword('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'), true)
})

t.test('verifyPassword resolves false for malformed or unsupported hashes', async (t) => {
  const hash = await hashPassword('secret', { cost: COST })
  const cases: Record<string, unknown> = {
    empty: '',
    garbage: 'not a hash',
    truncated: hash.slice(0, -1),
    'too long': hash + 'a',
    'bad character': hash.slice(0, -1) + '!',
    '$2x$ (buggy crypt_blowfish mode)': '$2x$' + hash.slice(4),
    '$2$ (original, obsolete)': '$2$' + hash.slice(4),
    'cost 03': hash.replace('$04$', '$03$'),
    'cost 32': hash.replace('$04$', '$32$'),
    'one-digit cost': hash.replace('$04$', '$4$'),
    argon2: '$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG',
    null: null,
    undefined,
    number: 42
  }
  for (const [name, value] of Object.entries(cases)) {
    t.equal(await verifyPassword('secret', value as string), false, name)
  }
})

t.test('verifyPassword resolves false for a non-string password', async (t) => {
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(await verifyPassword(null as unknown as string, hash), false)
  t.equal(await verifyPassword(Buffer.from('secret') as unknown as string, hash), false)
})

t.test('verifyPassword resolves false when the binding fails', async (t) => {
  const { verifyPassword: verifyWithBrokenBinding } = await t.mockImport<typeof import('../../lib/passwords/bcrypt.js')>('../../lib/passwords/bcrypt.js', {
    '@node-rs/bcrypt': {
      ...bcrypt,
      verify: async function brokenVerify () { throw new Error('binding failure') }
    }
  })
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(await verifyWithBrokenBinding('secret', hash), false)
})

t.test('hashPassword validates its arguments', async (t) => {
  for (const cost of [3, 32, 12.5, Number.NaN, Infinity, -1]) {
    await t.rejects(hashPassword('secret', { cost }), { name: 'RangeError', message: /^cost must be an integer from 4 to 31, got / }, String(cost))
  }
  await t.rejects(hashPassword('secret', { cost: '12' as unknown as number }), {
    name: 'TypeError',
    message: 'cost must be an integer from 4 to 31, got string'
  })
  await t.rejects(hashPassword(42 as unknown as string, { cost: COST }), {
    name: 'TypeError',
    message: 'password must be a string, got number'
  })
})

t.test('assertBcryptCost names the option it checks', async (t) => {
  t.doesNotThrow(() => assertBcryptCost(4))
  t.doesNotThrow(() => assertBcryptCost(31))
  t.throws(() => assertBcryptCost(32, 'bcrypt.cost'), { name: 'RangeError', message: 'bcrypt.cost must be an integer from 4 to 31, got 32' })
  t.throws(() => assertBcryptCost(undefined, 'bcrypt.cost'), { name: 'TypeError', message: 'bcrypt.cost must be an integer from 4 to 31, got undefined' })
})

t.test('isBcryptHash', async (t) => {
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(isBcryptHash(hash), true)
  t.equal(isBcryptHash('$2y$' + hash.slice(4)), true)
  t.equal(isBcryptHash('$2x$' + hash.slice(4)), false)
  t.equal(isBcryptHash(hash.replace('$04$', '$00$')), false)
  t.equal(isBcryptHash(undefined), false)
})

t.test('needsRehash', async (t) => {
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(needsRehash(hash, 4), false, 'same cost')
  t.equal(needsRehash(hash, 5), true, 'lower cost than configured')
  t.equal(needsRehash(hash.replace('$04$', '$10$'), 5), false, 'higher cost than configured')
  t.equal(needsRehash('$2a$' + hash.slice(4), 4), false, '$2a$ at the same cost')
  t.equal(needsRehash('$2y$' + hash.slice(4), 4), false, '$2y$ at the same cost')
  t.equal(needsRehash('$2x$' + hash.slice(4), 4), true, 'unsupported variant')
  t.equal(needsRehash('', 4), true, 'empty')
  t.equal(needsRehash('$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', 4), true, 'other algorithm')
  t.equal(needsRehash(null as unknown as string, 4), true, 'not a string')
  t.throws(() => needsRehash(hash, 3), { name: 'RangeError', message: /^cost / })
  t.throws(() => needsRehash(hash, '12' as unknown as number), { name: 'TypeError', message: /^cost / })
})
