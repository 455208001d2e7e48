import t from 'tap'
import {
  argon2Hash, argon2Parameters, argon2Verify, assertArgon2Parameters, DEFAULT_ARGON2_PARAMETERS, isArgon2idHash
} from '../../lib/passwords/argon2.js'

type Argon2Module = typeof import('../../lib/passwords/argon2.js')

// Small parameters keep the suite fast; the defaults are OWASP's
const SMALL = { memoryCost: 64, timeCost: 1, parallelism: 1 }

t.test('OWASP defaults: m = 19 MiB, t = 2, p = 1', async (t) => {
  t.same(DEFAULT_ARGON2_PARAMETERS, { memoryCost: 19_456, timeCost: 2, parallelism: 1 })
  t.ok(Object.isFrozen(DEFAULT_ARGON2_PARAMETERS))
})

t.test('argon2Hash makes an Argon2id v19 PHC string that argon2Verify accepts', async (t) => {
  const hash = await argon2Hash('correct horse', SMALL)
  t.match(hash, /^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/)
  t.same(argon2Parameters(hash), SMALL)
  t.equal(isArgon2idHash(hash), true)
  t.equal(await argon2Verify('correct horse', hash), true)
  t.equal(await argon2Verify('wrong', hash), false)
  t.equal(await argon2Verify('é'.repeat(100), hash), false, 'no length limit, just a mismatch')
})

t.test('argon2Parameters refuses what is not an Argon2id v19 hash', async (t) => {
  const hash = await argon2Hash('x', SMALL)
  for (const value of [
    undefined, 42, '', '$2b$04$' + 'a'.repeat(53),
    hash.replace('argon2id', 'argon2i'),
    hash.replace('v=19', 'v=16'),
    hash.replace('m=64', 'm=4'),
    hash.replace('p=1', 'p=0'),
    hash.replace('t=1', 't=0'),
    hash.replace('m=64', 'm=99999999999'),
    hash + '='
  ]) {
    t.equal(argon2Parameters(value), undefined, String(value))
    t.equal(isArgon2idHash(value), false)
  }
})

t.test('assertArgon2Parameters names the field and its bounds', async (t) => {
  t.doesNotThrow(() => assertArgon2Parameters(SMALL))
  t.throws(() => assertArgon2Parameters({ ...SMALL, parallelism: 0 }), { name: 'RangeError', message: 'parallelism must be an integer from 1 to 255, got 0' })
  t.throws(() => assertArgon2Parameters({ ...SMALL, timeCost: 'two' }), { name: 'RangeError', message: 'timeCost must be an integer from 1 to 4294967295, got two' })
  t.throws(() => assertArgon2Parameters({ ...SMALL, memoryCost: 16, parallelism: 4 }), { name: 'RangeError', message: 'memoryCost must be an integer from 32 to 4294967295, got 16' })
})

t.test('argon2Verify fails closed when the binding throws', async (t) => {
  const { argon2Verify } = await t.mockImport<Argon2Module>('../../lib/passwords/argon2.js', {
    '@node-rs/argon2': { verify: async () => { throw new Error('internal') }, hash: async () => '' }
  })
  t.equal(await argon2Verify('x', '$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$' + 'a'.repeat(43)), false)
})

t.test('a missing @node-rs/argon2 is FST_OAUTH2_ARGON2_UNAVAILABLE, and is tried again later', async (t) => {
  let attempts = 0
  const { loadArgon2, argon2Hash } = await t.mockImport<Argon2Module>('../../lib/passwords/argon2.js', {
    '@node-rs/argon2': {
      get hash () {
        attempts++
        throw Object.assign(new Error("Cannot find package '@node-rs/argon2'"), { code: 'ERR_MODULE_NOT_FOUND' })
      }
    }
  })
  const err = await argon2Hash('x', SMALL).catch((err: unknown) => err)
  t.match(err, {
    code: 'FST_OAUTH2_ARGON2_UNAVAILABLE',
    statusCode: 500,
    message: 'Argon2id password hashing needs the optional peer dependency @node-rs/argon2 (npm i @node-rs/argon2): ERR_MODULE_NOT_FOUND'
  })
  await t.rejects(loadArgon2(), { code: 'FST_OAUTH2_ARGON2_UNAVAILABLE' })
  t.ok(attempts >= 1)
})

t.test('a binding that fails to load without a code is still named', async (t) => {
  const { loadArgon2 } = await t.mockImport<Argon2Module>('../../lib/passwords/argon2.js', {
    '@node-rs/argon2': { get hash () { throw new Error('no native binding for this platform') } }
  })
  await t.rejects(loadArgon2(), { code: 'FST_OAUTH2_ARGON2_UNAVAILABLE', message: /: it failed to load$/ })
})
