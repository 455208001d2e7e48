import t, { type Test } from 'tap'
import os from 'node:os'
import { createPasswordHasher as realCreatePasswordHasher } from '../../lib/passwords/password-hasher.js'
import * as passwords from '../../lib/passwords/bcrypt.js'

type HasherModule = typeof import('../../lib/passwords/password-hasher.js')
type PasswordsModule = typeof passwords
const { hashPassword } = passwords

const COST = 4

interface PasswordsCall {
  fn: 'hashPassword' | 'verifyPassword'
  args: unknown[]
}

// The hasher over a passwords module that records its calls and then does the real
// bcrypt work, so tests can see that bcrypt ran without measuring time.
async function spiedHasher (t: Test, overrides: Partial<PasswordsModule> = {}): Promise<{ module: HasherModule, calls: PasswordsCall[] }> {
  const calls: PasswordsCall[] = []
  const module = await t.mockImport<HasherModule>('../../lib/passwords/password-hasher.js', {
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
    }
  })
  return { module, calls }
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

t.test('verify: an unknown user runs one bcrypt verify against a dummy hash of the same cost', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })

  const pending = hasher.verify('secret', null)
  t.equal(hasher.running, 1, 'the dummy verify holds a gate slot like a real one')
  t.equal(await pending, false)

  const verifies = calls.filter((call) => call.fn === 'verifyPassword')
  t.equal(verifies.length, 1, 'bcrypt verify ran once')
  t.equal(verifies[0]?.args[0], 'secret')
  t.match(verifies[0]?.args[1], /^\$2b\$04\$[./A-Za-z0-9]{53}$/, 'against a hash of the configured cost')
})

t.test('verify: the dummy hash is made once, lazily, and reused', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 2, maxQueue: 10 })
  t.equal(calls.length, 0, 'nothing is hashed before the first unknown user')

  const results = await Promise.all([
    hasher.verify('a', null),
    hasher.verify('b', null),
    hasher.verify('c', null)
  ])
  t.same(results, [false, false, false])
  await hasher.verify('d', null)

  const hashes = calls.filter((call) => call.fn === 'hashPassword')
  const verifies = calls.filter((call) => call.fn === 'verifyPassword')
  t.equal(hashes.length, 1, 'one dummy hash for all unknown users')
  t.same(hashes[0]?.args[1], { cost: COST })
  t.equal(verifies.length, 4, 'one bcrypt verify per login')
  t.equal(new Set(verifies.map((call) => call.args[1])).size, 1, 'always the same dummy hash')
})

t.test('verify: an unusable stored hash is treated like an unknown user', async (t) => {
  const { module, calls } = await spiedHasher(t)
  const hasher = module.createPasswordHasher({ cost: COST, maxConcurrent: 1, maxQueue: 10 })
  for (const stored of ['', 'plain text password', '$2x$04$' + 'a'.repeat(53), undefined as unknown as string]) {
    t.equal(await hasher.verify('plain text password', stored), false, String(stored))
  }
  const verifies = calls.filter((call) => call.fn === 'verifyPassword')
  t.equal(verifies.length, 4, 'a bcrypt verify each time')
  t.ok(verifies.every((call) => typeof call.args[1] === 'string' && call.args[1].startsWith('$2b$04$')), 'against the dummy hash')
})

t.test('verify: a failed dummy hash is retried by the next login', async (t) => {
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

t.test('needsRehash uses the configured cost', async (t) => {
  const hasher = realCreatePasswordHasher({ cost: 5, maxConcurrent: 1, maxQueue: 0 })
  const hash = await hashPassword('secret', { cost: COST })
  t.equal(hasher.cost, 5)
  t.equal(hasher.needsRehash(hash), true)
  t.equal(hasher.needsRehash(hash.replace('$04$', '$05$')), false)
  t.equal(hasher.needsRehash('not a hash'), true)
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
