import t, { type Test } from 'tap'
import os from 'node:os'
import { createPasswordHasher as realCreatePasswordHasher } from '../../lib/passwords/password-hasher.js'
import * as passwords from '../../lib/passwords/bcrypt.js'
import * as argon2 from '../../lib/passwords/argon2.js'
import { Argon2UnavailableError } from '../../lib/errors.js'

type HasherModule = typeof import('../../lib/passwords/password-hasher.js')
type PasswordsModule = typeof passwords
const { hashPassword } = passwords

const COST = 4
// Small Argon2id parameters keep the suite fast
const ARGON2 = { algorithm: 'argon2id', memoryCost: 64, timeCost: 2, parallelism: 1 } as const

interface PasswordsCall {
  fn: 'hashPassword' | 'verifyPassword' | 'argon2Hash' | 'argon2Verify'
  args: unknown[]
}

// The hasher over bcrypt and argon2 modules that record their calls and then do the
// real work, so tests can see which work ran without measuring time.
async function spiedHasher (t: Test, overrides: Partial<PasswordsModule> = {}, argon2Overrides: Partial<typeof argon2> = {}): Promise<{ module: HasherModule, calls: PasswordsCall[] }> {
  const calls: PasswordsCall[] = []
  const primitives = {
    '../../lib/passwords/bcrypt.js': {
      ...passwords,
      hashPassword: async function spyHashPassword (...args: Parameters<PasswordsModule['hashPassword']>) {
        calls.push({ fn: 'hashPassword', args })
        return await (overrides.hashPassword ?? passwords.hashPassword)(...args)
      },
      verifyPassword: async function spyVerifyPassword (...args: Parameters<PasswordsModule['verifyPassword']>) {
        calls.push({ fn: 'verifyPassword', args })
        return await passwords.verifyPassword(...args)
      }
    },
    '../../lib/passwords/argon2.js': {
      ...argon2,
      argon2Hash: async function spyArgon2Hash (...args: Parameters<typeof argon2.argon2Hash>) {
        calls.push({ fn: 'argon2Hash', args })
        return await argon2.argon2Hash(...args)
      },
      argon2Verify: async function spyArgon2Verify (...args: Parameters<typeof argon2.argon2Verify>) {
        calls.push({ fn: 'argon2Verify', args })
        return await (argon2Overrides.argon2Verify ?? argon2.argon2Verify)(...args)
      }
    }
  }
  // Mocks reach only the module's own imports: the padding module gets the same spies
  const loginWork = await t.mockImport('../../lib/passwords/login-work.js', primitives)
  const module = await t.mockImport<HasherModule>('../../lib/passwords/password-hasher.js', {
    ...primitives,
    '../../lib/passwords/login-work.js': loginWork
  })
  return { module, calls }
}

/** The work each call did: `bcrypt 4`, `argon2id m=64 t=2`, in order. */
function work (calls: PasswordsCall[]): string[] {
  return calls.map(({ fn, args }) => {
    if (fn === 'hashPassword') return `pad bcrypt ${(args[1] as { cost: number }).cost}`
    if (fn === 'verifyPassword') return `verify bcrypt ${(args[1] as string).slice(4, 6)}`
    if (fn === 'argon2Hash') {
      const { memoryCost, timeCost } = args[1] as { memoryCost: number, timeCost: number }
      return `pad argon2id m=${memoryCost} t=${timeCost}`
    }
    return `verify argon2id ${/m=\d+,t=\d+/.exec(args[1] as string)?.[0] ?? ''}`
  })
}

t.test('verify: the right password of a known user', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 1 })
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(await hasher.verify('secret', hash), true)
  t.equal(await hasher.verify('wrong', hash), false)
  t.equal(await hasher.verify('€'.repeat(25), hash), false, 'over 72 bytes')
  t.equal(hasher.running, 0)
  t.equal(hasher.queued, 0)
})

t.test('verify: an unknown user costs one bcrypt computation of the configured cost, in a gate slot', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })

  const pending = hasher.verify('secret', null)
  t.equal(hasher.running, 1, 'the padding holds a gate slot like a real check')
  t.equal(await pending, false)
  t.same(work(calls), ['pad bcrypt 4'])
  t.not(calls[0]?.args[0], 'secret', 'a throwaway password, never the one given')
})

t.test('verify: an unusable stored hash is treated like an unknown user', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  for (const stored of ['', 'plain text password', '$2x$04$' + 'a'.repeat(53), undefined as unknown as string]) {
    t.equal(await hasher.verify('plain text password', stored), false, String(stored))
  }
  t.same(work(calls), ['pad bcrypt 4', 'pad bcrypt 4', 'pad bcrypt 4', 'pad bcrypt 4'])
})

t.test('verify: a stored hash cheaper than configured is padded to exactly the configured rounds', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: 7, maxConcurrent: 1, maxQueue: 10 })
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(await hasher.verify('secret', hash), true)
  // 2^4 + 2^4 + 2^5 + 2^6 = 2^7
  t.same(work(calls), ['verify bcrypt 04', 'pad bcrypt 4', 'pad bcrypt 5', 'pad bcrypt 6'])
  calls.length = 0
  t.equal(await hasher.verify('€'.repeat(25), hash), false)
  t.same(work(calls), ['pad bcrypt 7'], 'a password bcrypt cannot check costs an unknown user\'s work')
})

t.test('verify: a stored hash stronger than configured raises every later check to its cost', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  const strong = await hashPassword('secret', { cost: 6 })
  t.equal(await hasher.verify('secret', null), false)
  t.equal(await hasher.verify('wrong', strong), false)
  t.equal(await hasher.verify('secret', null), false)
  t.equal(await hasher.verify('secret', await hashPassword('secret', { cost: COST })), true)
  t.same(work(calls.filter((call) => !(call.fn === 'hashPassword' && call.args[0] === 'secret'))), [
    'pad bcrypt 4',
    'verify bcrypt 06',
    'pad bcrypt 6',
    'verify bcrypt 04', 'pad bcrypt 4', 'pad bcrypt 5'
  ])
})

t.test('verify: with Argon2id configured, every check costs one Argon2id of the configured parameters and the bcrypt seen', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ ...ARGON2, maxConcurrent: 1, maxQueue: 10 })
  const argon2Stored = await argon2.argon2Hash('secret', ARGON2)
  const bcryptStored = await hashPassword('secret', { cost: COST })
  const weakArgon2 = await argon2.argon2Hash('secret', { ...ARGON2, timeCost: 1 })

  t.equal(await hasher.verify('secret', null), false)
  t.equal(await hasher.verify('secret', argon2Stored), true)
  t.equal(await hasher.verify('secret', weakArgon2), true)
  t.equal(await hasher.verify('secret', bcryptStored), true)
  t.equal(await hasher.verify('wrong', null), false)
  t.equal(await hasher.verify('wrong', argon2Stored), false)
  t.equal(await hasher.verify('x'.repeat(73), bcryptStored), false, 'no 72-byte refusal before the lookup with Argon2id')
  t.same(work(calls.filter((call) => call.args[0] !== 'secret' || call.fn.startsWith('verify') || call.fn === 'argon2Verify')), [
    'pad argon2id m=64 t=2',
    'verify argon2id m=64,t=2',
    'verify argon2id m=64,t=1', 'pad argon2id m=64 t=1',
    'verify bcrypt 04', 'pad argon2id m=64 t=2',
    // From now on a bcrypt hash has been seen: everyone pays its cost too
    'pad bcrypt 4', 'pad argon2id m=64 t=2',
    'verify argon2id m=64,t=2', 'pad bcrypt 4',
    'pad bcrypt 4', 'pad argon2id m=64 t=2'
  ])
  t.equal(hasher.maxPasswordBytes, null)
  t.equal(hasher.cost, 12, 'the bcrypt cost it would use; parameters say what is configured')
  t.same(hasher.parameters, { algorithm: 'argon2id', memoryCost: 64, timeCost: 2, parallelism: 1 })
})

t.test('verify: with bcrypt configured, a stronger Argon2id hash seen raises every later check', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  const argon2Stored = await argon2.argon2Hash('secret', { ...ARGON2, memoryCost: 128 })
  t.equal(await hasher.verify('secret', argon2Stored), true)
  t.equal(await hasher.verify('secret', null), false)
  t.equal(await hasher.verify('secret', await argon2.argon2Hash('secret', { ...ARGON2, memoryCost: 8, timeCost: 1 })), true)
  t.same(work(calls.filter((call) => call.args[0] !== 'secret' || call.fn.startsWith('verify') || call.fn === 'argon2Verify')), [
    'verify argon2id m=128,t=2', 'pad bcrypt 4',
    'pad bcrypt 4', 'pad argon2id m=256 t=1',
    // 8 KiB-passes spent, 248 left: one pass over 248 KiB (padding passes over at most the default 19,456 KiB)
    'verify argon2id m=8,t=1', 'pad bcrypt 4', 'pad argon2id m=248 t=1'
  ])
  t.equal(hasher.maxPasswordBytes, 72)
})

t.test('verify: a stored hash raises the target by at most 64 times the configured work (cost + 6)', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  const legacy = await hashPassword('secret', { cost: COST + 7 })
  calls.length = 0
  t.equal(await hasher.verify('wrong', legacy), false)
  t.equal(await hasher.verify('secret', null), false)
  t.same(work(calls), ['verify bcrypt 11', 'pad bcrypt 10'], 'the legacy hash costs its own work; an unknown user the cap')
})

t.test('verify: a hash that cannot be checked here fails its own login only', async (t) => {
  const { module, calls } = await spiedHasher(t, {}, {
    argon2Verify: async () => { throw new Argon2UnavailableError('ERR_MODULE_NOT_FOUND') }
  })
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  const argon2Stored = await argon2.argon2Hash('secret', ARGON2)
  calls.length = 0
  await t.rejects(hasher.verify('secret', argon2Stored), { code: 'FST_OAUTH2_ARGON2_UNAVAILABLE' })
  t.equal(await hasher.verify('secret', null), false)
  t.equal(await hasher.verify('secret', await hashPassword('secret', { cost: COST })), true)
  t.same(work(calls.filter((call) => call.fn !== 'hashPassword' || call.args[0] !== 'secret')), [
    'verify argon2id m=64,t=2',
    // No Argon2id padding follows: the target was not raised by a hash that never verified
    'pad bcrypt 4',
    'verify bcrypt 04'
  ])
})

t.test('verify: a password that is not a string is wrong, at an unknown user\'s cost', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  const hash = await hashPassword('secret', { cost: COST })
  calls.length = 0
  for (const password of [undefined, 123, null]) t.equal(await hasher.verify(password as unknown as string, hash), false)
  t.same(work(calls), ['pad bcrypt 4', 'pad bcrypt 4', 'pad bcrypt 4'])
})

t.test('verify: a failed padding rejects and frees the slot; the next login pads again', async (t) => {
  let failures = 1
  const { module, calls } = await spiedHasher(t, {
    hashPassword: async function failOnce (...args: Parameters<PasswordsModule['hashPassword']>) {
      if (failures-- > 0) throw new Error('threadpool failure')
      return await hashPassword(...args)
    }
  })
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  await t.rejects(hasher.verify('secret', null), { message: 'threadpool failure' }, 'an internal failure is not a GateFull refusal')
  t.equal(hasher.running, 0, 'the slot is freed')
  t.equal(await hasher.verify('secret', null), false)
  t.equal(calls.filter((call) => call.fn === 'hashPassword').length, 2)
})

t.test('verify: a full gate answers 503 temporarily_unavailable with Retry-After', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 1 })
  const hash = await hashPassword('secret', { cost: COST })
  const admitted = [hasher.verify('secret', hash), hasher.verify('secret', null)]
  t.equal(hasher.running, 1)
  t.equal(hasher.queued, 1)

  for (const refused of [hasher.verify('secret', hash), hasher.verify('secret', null)]) {
    const err = await refused.catch((err: unknown) => err)
    t.match(err, {
      code: 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE',
      statusCode: 503,
      error: 'temporarily_unavailable',
      message: 'Too many login attempts in progress, retry later',
      headers: { 'retry-after': '1' }
    })
  }
  t.same(await Promise.all(admitted), [true, false])
})

t.test('hash: goes through the gate with the configured cost', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 0 })
  const pending = hasher.hash('secret')
  t.equal(hasher.running, 1)
  await t.rejects(hasher.hash('other'), { code: 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE', headers: { 'retry-after': '1' } })
  const hash = await pending
  t.match(hash, /^\$2b\$04\$/)
  t.equal(await hasher.verify('secret', hash), true)
})

t.test('hash: a password over 72 bytes is refused without taking a slot', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 0 })
  const pending = hasher.verify('secret', null)
  // The gate is full, yet the answer is about the password, not about load.
  await t.rejects(hasher.hash('€'.repeat(24) + 'a'), { code: 'FST_OAUTH2_PASSWORD_TOO_LONG', statusCode: 400 })
  t.equal(await pending, false)
  t.match(await hasher.hash('€'.repeat(24)), /^\$2b\$04\$/, '72 bytes are accepted')
})

t.test('needsRehash uses the configured algorithm and parameters', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: 5, maxConcurrent: 1, maxQueue: 0 })
  const hash = await hashPassword('secret', { cost: COST })
  const argon2Stored = await argon2.argon2Hash('secret', ARGON2)
  t.equal(hasher.cost, 5)
  t.equal(hasher.needsRehash(hash), true)
  t.equal(hasher.needsRehash(hash.replace('$04$', '$05$')), false)
  t.equal(hasher.needsRehash('not a hash'), true)
  t.equal(hasher.needsRehash(argon2Stored), true, 'an Argon2id hash is replaced by bcrypt when bcrypt is configured')

  const argon2Hasher = realCreatePasswordHasher({ ...ARGON2, maxConcurrent: 1 })
  t.equal(argon2Hasher.needsRehash(hash), true, 'bcrypt is replaced by Argon2id')
  t.equal(argon2Hasher.needsRehash(argon2Stored), false)
  t.equal(argon2Hasher.needsRehash(argon2Stored.replace('m=64', 'm=32')), true, 'less memory')
  t.equal(argon2Hasher.needsRehash(argon2Stored.replace('t=2', 't=1')), true, 'fewer passes')
  t.equal(argon2Hasher.needsRehash(argon2Stored.replace('m=64,t=2', 'm=128,t=3')), false, 'stronger')
})

t.test('hash: Argon2id with the configured parameters, no 72-byte limit', async (t) => {
  const hasher = realCreatePasswordHasher({ ...ARGON2, maxConcurrent: 1 })
  const long = 'é'.repeat(100)
  const hash = await hasher.hash(long)
  t.match(hash, /^\$argon2id\$v=19\$m=64,t=2,p=1\$/)
  t.equal(await hasher.verify(long, hash), true)
})

t.test('defaults', async (t) => {
  const hasher = realCreatePasswordHasher()
  t.equal(hasher.cost, 12)
  t.equal(hasher.maxQueue, 32 * hasher.maxConcurrent)
  t.ok(hasher.maxConcurrent >= 1 && hasher.maxConcurrent < Math.max(2, os.availableParallelism()))

  const custom = realCreatePasswordHasher({ cost: COST, maxConcurrent: 3 })
  t.equal(custom.maxConcurrent, 3)
  t.equal(custom.maxQueue, 96, 'maxQueue follows maxConcurrent')
  t.equal(realCreatePasswordHasher({ maxConcurrent: 3, maxQueue: 0 }).maxQueue, 0)
})

t.test('default maxConcurrent leaves a core to the event loop and a libuv thread free', async (t) => {
  const saved = process.env.UV_THREADPOOL_SIZE
  t.teardown(() => {
    if (saved === undefined) delete process.env.UV_THREADPOOL_SIZE
    else process.env.UV_THREADPOOL_SIZE = saved
  })

  async function defaultsOn (cores: number, threadpoolSize: string | undefined): Promise<number> {
    if (threadpoolSize === undefined) delete process.env.UV_THREADPOOL_SIZE
    else process.env.UV_THREADPOOL_SIZE = threadpoolSize
    const { createPasswordHasher } = await t.mockImport<HasherModule>('../../lib/passwords/password-hasher.js', {
      'node:os': { ...os, availableParallelism: () => cores }
    })
    const hasher = createPasswordHasher({ cost: COST })
    t.equal(hasher.maxQueue, 32 * hasher.maxConcurrent)
    return hasher.maxConcurrent
  }

  t.equal(await defaultsOn(64, undefined), 3, 'libuv default pool of 4')
  t.equal(await defaultsOn(64, '16'), 15)
  t.equal(await defaultsOn(8, '16'), 7, 'cores - 1')
  t.equal(await defaultsOn(1, '16'), 1, 'at least 1 on one core')
  t.equal(await defaultsOn(64, '1'), 1, 'at least 1 with one libuv thread')
  // libuv reads the variable with atoi(): 0 and garbage mean 1, negative wraps to the 1024 cap.
  t.equal(await defaultsOn(64, '0'), 1)
  t.equal(await defaultsOn(64, 'many'), 1)
  t.equal(await defaultsOn(64, '8 threads'), 7)
  t.equal(await defaultsOn(2048, '5000'), 1023)
  t.equal(await defaultsOn(2048, '-1'), 1023)
})

t.test('validates its options', async (t) => {
  t.throws(() => realCreatePasswordHasher({ cost: 3 }), { name: 'RangeError', message: /^cost / })
  t.throws(() => realCreatePasswordHasher({ algorithm: 'argon2id', memoryCost: 4 }), { name: 'RangeError', message: /^memoryCost / })
  t.throws(() => realCreatePasswordHasher({ algorithm: 'scrypt' } as unknown as { algorithm: 'bcrypt' }), { name: 'TypeError', message: /^algorithm / })
  t.throws(() => realCreatePasswordHasher({ cost: '12' as unknown as number }), { name: 'TypeError', message: /^cost / })
  t.throws(() => realCreatePasswordHasher({ maxConcurrent: 0 }), { name: 'RangeError', message: /^maxConcurrent / })
  t.throws(() => realCreatePasswordHasher({ maxConcurrent: 'four' as unknown as number }), { name: 'TypeError', message: /^maxConcurrent / })
  t.throws(() => realCreatePasswordHasher({ maxConcurrent: 2, maxQueue: -1 }), { name: 'RangeError', message: /^maxQueue / })
})

t.test('assertCapacity refuses at once when every slot is busy and the queue is full', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: 4, maxConcurrent: 1, maxQueue: 1 })
  t.doesNotThrow(() => hasher.assertCapacity(), 'room at first')
  const hash = await hasher.hash('secret')
  const running = hasher.verify('secret', hash)
  const queued = hasher.verify('secret', hash)
  t.throws(() => hasher.assertCapacity(), { code: 'FST_OAUTH2_TEMPORARILY_UNAVAILABLE', statusCode: 503, headers: { 'retry-after': /^[1-9]\d*$/ } })
  t.same(await Promise.all([running, queued]), [true, true])
  t.doesNotThrow(() => hasher.assertCapacity(), 'room again once drained')
})
