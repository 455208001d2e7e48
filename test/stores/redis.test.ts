import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { redisClientOptions, redisTokenStore, type RedisClient } from '../../lib/stores/redis.js'
import { BUCKETS, redisKeys } from '../../lib/stores/redis-keys.js'
import type { TokenStore } from '../../lib/stores/token-store.js'
import { freePort, redisServerInstalled, requireRedisServer, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
import { tokenStoreConformance } from './conformance.js'

const MINUTE = 60_000

function family (id: string, now: number, overrides: Record<string, unknown> = {}) {
  return { id, userId: 'johndoe', clientId: null, scope: 'me', issuedAt: now, expiresAt: now + 30 * MINUTE, tokenHash: `${id}-hash`, idleExpiresAt: now + 10 * MINUTE, ...overrides }
}

function rotation (id: string, tokenHash: string, now: number) {
  return { familyId: id, userId: 'johndoe', tokenHash, nextTokenHash: `${tokenHash}+`, now, idleExpiresAt: now + 10 * MINUTE, reuseGrace: 0, retainUntil: now + MINUTE, successorSeed: `${tokenHash}-seed`, retryWindow: 0 }
}

function uniquePrefix (): string {
  return `test-${randomBytes(6).toString('hex')}:`
}

/** A plain client for looking at what the store wrote. */
function inspector (t: Test, server: RedisServer): Redis {
  const client = new Redis(server.url)
  t.teardown(() => client.disconnect())
  return client
}

async function storeFor (t: Test, server: RedisServer, prefix = uniquePrefix()): Promise<TokenStore> {
  const store = await redisTokenStore({ url: server.url, prefix })
  t.teardown(() => store.close())
  return store
}

async function eventually (check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error(`timed out waiting for ${what}`)
}

// The conformance suite waits for pub/sub; each fresh store waits for its markers' whole second
t.setTimeout(180_000)

if (requireRedisServer(t)) {
  const server = await startRedisServer(t)

  t.test('conformance', async (t) => {
    tokenStoreConformance(t, () => redisTokenStore({ url: server.url, prefix: uniquePrefix() }))
  })

  t.test('every key carries a TTL that matches its deadline', async (t) => {
    const prefix = uniquePrefix()
    const store = await storeFor(t, server, prefix)
    const redis = inspector(t, server)
    const now = Date.now()
    await store.createFamily(family('f', now, { idleExpiresAt: now + 2 * MINUTE }))
    await store.createFamily(family('g', now))
    await store.revokeAccessToken('jti', now, now + 3 * MINUTE)
    await store.revokeUser('bob', now + 1000, now, now + 4 * MINUTE)
    await store.revokeFamily('g', now, now + 5 * MINUTE)
    const names = redisKeys(prefix)
    const ttl = async (key: string) => await redis.pttl(key)
    const near = (value: number, expected: number, what: string) => t.ok(value > expected - 5000 && value <= expected, `${what}: ${value} ms, expected about ${expected}`)
    near(await ttl(names.family('f')), 2 * MINUTE, 'family: its idle deadline')
    near(await ttl(names.revokedJti('jti')), 3 * MINUTE, 'revoked jti: the token exp')
    near(await ttl(names.notBefore('bob')), 4 * MINUTE, 'not-before: the longest token life')
    near(await ttl(names.revokedFamily('g')), 5 * MINUTE, 'revoked family: its access tokens\' life')
    t.equal(await ttl(names.family('g')), -2, 'a revoked family is deleted')
    t.equal(await store.rotate({ ...rotation('f', 'f-hash', now + MINUTE), idleExpiresAt: now + 7 * MINUTE }), 'rotated')
    near(await ttl(names.family('f')), 6 * MINUTE, 'a rotation slides the family TTL')
    const keys = await redis.keys(`${prefix}*`)
    t.equal(keys.length, 4 + BUCKETS, 'four keys and the buckets\' generation markers')
    for (const key of keys) {
      if (key.endsWith(':generation')) t.equal(await redis.pttl(key), -1, 'a marker never expires')
      else t.ok(await redis.pttl(key) > 0, `${key} expires`)
    }
  })

  t.test('retention only grows: a shorter one never shortens a revocation', async (t) => {
    const prefix = uniquePrefix()
    const store = await storeFor(t, server, prefix)
    const redis = inspector(t, server)
    const now = Date.now()
    const names = redisKeys(prefix)
    await store.revokeAccessToken('jti', now, now + 3 * MINUTE)
    await store.revokeAccessToken('jti', now, now + MINUTE)
    t.ok(await redis.pttl(names.revokedJti('jti')) > 2 * MINUTE)
    await store.revokeUser('bob', now + 1000, now, now + 3 * MINUTE)
    await store.revokeUser('bob', now + 2000, now, now + MINUTE)
    t.equal(await redis.get(names.notBefore('bob')), String(now + 2000), 'the time moves forward')
    t.ok(await redis.pttl(names.notBefore('bob')) > 2 * MINUTE, 'its retention does not shrink')
    await store.revokeUser('bob', now + 500, now, now + 4 * MINUTE)
    t.equal(await redis.get(names.notBefore('bob')), String(now + 2000), 'an earlier time changes nothing')
    t.ok(await redis.pttl(names.notBefore('bob')) > 3 * MINUTE, 'but a longer retention is kept')
    await store.revokeAccessToken('old', now, now - 1)
    t.equal(await redis.exists(names.revokedJti('old')), 0, 'a revocation past its retention writes nothing')
  })

  t.test('keys are prefixed: stores with other prefixes share nothing, the same prefix shares everything', async (t) => {
    const prefix = uniquePrefix()
    const one = await storeFor(t, server, prefix)
    const same = await storeFor(t, server, prefix)
    const other = await storeFor(t, server)
    const now = Date.now()
    await one.createFamily(family('f', now))
    t.ok(await same.findFamily('f', now))
    t.equal(await other.findFamily('f', now), null)
  })

  t.test('a revocation on one instance notifies every instance sharing the prefix', async (t) => {
    const prefix = uniquePrefix()
    const here = await storeFor(t, server, prefix)
    const there = await storeFor(t, server, prefix)
    const elsewhere = await storeFor(t, server)
    let seenThere = 0
    let seenElsewhere = 0
    there.onRevocation(() => { seenThere++ })
    elsewhere.onRevocation(() => { seenElsewhere++ })
    await sleep(300)
    seenThere = 0
    seenElsewhere = 0
    const now = Date.now()
    await here.revokeAccessToken('jti', now, now + MINUTE)
    await eventually(async () => seenThere === 1, 'the notification')
    await sleep(200)
    t.equal(seenElsewhere, 0, 'another prefix hears nothing')
  })

  t.test('scripts flushed by a Redis restart are sent again', async (t) => {
    const store = await storeFor(t, server)
    const redis = inspector(t, server)
    const now = Date.now()
    await store.createFamily(family('f', now))
    await redis.script('FLUSH')
    t.equal(await store.rotate(rotation('f', 'f-hash', now)), 'rotated')
  })

  t.test('a client of yours: used as given, and left open by close()', async (t) => {
    const client = new Redis(server.url, { ...redisClientOptions })
    await client.connect()
    t.teardown(() => client.disconnect())
    const store = await redisTokenStore({ client, prefix: uniquePrefix() })
    let notified = 0
    store.onRevocation(() => { notified++ })
    const now = Date.now()
    await store.createFamily(family('f', now))
    t.ok(await store.findFamily('f', now))
    await sleep(300)
    notified = 0
    await store.revokeFamily('f', now, now + MINUTE)
    await eventually(async () => notified === 1, 'the notification through a duplicate of the app\'s client')
    await store.close()
    t.equal(client.status, 'ready', 'the app\'s client stays open')
    t.equal(await client.ping(), 'PONG')
  })

  t.test('the default prefix', async (t) => {
    const store = await redisTokenStore({ url: server.url })
    t.teardown(() => store.close())
    const redis = inspector(t, server)
    const now = Date.now()
    await store.revokeAccessToken('default-prefix', now, now + MINUTE)
    const key = redisKeys('fastify-oauth2:').revokedJti('default-prefix')
    t.match(key, /^fastify-oauth2:\{b\d+\}:revoked-jti:default-prefix$/)
    t.equal(await redis.exists(key), 1)
    await redis.del(key)
  })

  t.test('options are checked', async (t) => {
    await t.rejects(redisTokenStore({}), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option redisTokenStore(): takes exactly one of url, nodes and client' })
    await t.rejects(redisTokenStore({ url: server.url, client: {} as RedisClient }), { code: 'FST_OAUTH2_INVALID_OPTION' })
    await t.rejects(redisTokenStore({ url: 'http://127.0.0.1:6379' }), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option url: must be a redis:// or rediss:// URL' })
    await t.rejects(redisTokenStore({ url: 42 as unknown as string }), { code: 'FST_OAUTH2_INVALID_OPTION' })
    await t.rejects(redisTokenStore({ url: server.url, prefix: 1 as unknown as string }), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option prefix: must be a string (got number)' })
  })

  t.test('Redis down: operations fail at once; back up: they work again, and listeners are told to resync', async (t) => {
    const own = await startRedisServer(t)
    const store = await storeFor(t, own)
    let notified = 0
    store.onRevocation(() => { notified++ })
    const now = Date.now()
    await store.createFamily(family('f', now))
    await sleep(300)
    await own.stop({ save: true })
    notified = 0
    const started = Date.now()
    await t.rejects(store.findFamily('f', now), Error, 'a read fails')
    await t.rejects(store.rotate(rotation('f', 'f-hash', now)), Error, 'a rotation fails')
    await t.rejects(store.revokeAccessToken('jti', now, now + MINUTE), Error, 'a revocation fails')
    t.ok(Date.now() - started < 1000, 'without waiting for Redis')
    await own.start()
    await eventually(async () => (await store.findFamily('f', now).catch(() => null)) !== null, 'the reconnection')
    t.equal(await store.rotate(rotation('f', 'f-hash', now)), 'rotated', 'the family is intact and rotates once')
    await eventually(async () => notified > 0, 'the resync notice')
    t.pass('the subscriber reconnected and asked for a resync')
  })

  t.test('Redis down when the store is created: it starts anyway and connects later', async (t) => {
    const port = await freePort()
    const store = await redisTokenStore({ url: `redis://127.0.0.1:${port}`, prefix: uniquePrefix() })
    t.teardown(() => store.close())
    await t.rejects(store.findFamily('f', Date.now()))
    await store.close()
    t.pass('a store that never connected closes')
  })
}

if (redisServerInstalled()) {
  const server = await startRedisServer(t)

  async function lossWatchedStore (t: Test, target: RedisServer, prefix = uniquePrefix()) {
    const warnings: string[] = []
    const store = await redisTokenStore({ url: target.url, prefix, onWarning: (message) => { warnings.push(message) } })
    t.teardown(() => store.close())
    return { store, warnings, losses: () => warnings.filter((message) => message.includes('lost data')) }
  }

  t.test('FLUSHALL: revocations and families from before are gone, so everything issued before is refused; reported once', async (t) => {
    const { store, losses } = await lossWatchedStore(t, server)
    const now = Date.now()
    await store.createFamily(family('f', now))
    await store.revokeAccessToken('jti', now, now + MINUTE)
    t.equal(losses().length, 1, 'a fresh prefix: first use, reported as such (older tokens would be refused)')
    const redis = inspector(t, server)
    await redis.flushall()
    const after = await store.accessTokenStatus({ jti: 'jti', familyId: 'f', userId: 'johndoe' })
    t.ok(after.notBefore > now, 'the revoked token (and any token from before) is refused by its iat')
    t.equal(await store.findFamily('f', Date.now()), null, 'the family is gone')
    await store.accessTokenStatus({ jti: 'other', familyId: 'g', userId: 'bob' })
    t.equal(losses().length, 2, 'one report for the loss, however many buckets were found empty')
    const issued = Math.ceil(Date.now() / 1000) * 1000 + 1000
    await sleep(issued - Date.now())
    t.ok((await store.accessTokenStatus({ jti: 'fresh', familyId: undefined, userId: 'johndoe' })).notBefore <= issued, 'tokens issued after the loss work')
  })

  t.test('restart without persistence: found at reconnection; a family that outlived its bucket marker (eviction) is not trusted', async (t) => {
    const own = await startRedisServer(t)
    const prefix = uniquePrefix()
    const { store, losses } = await lossWatchedStore(t, own, prefix)
    const now = Date.now()
    await store.revokeAccessToken('jti', now, now + MINUTE)
    await own.stop()
    await own.start()
    await eventually(async () => losses().length === 2, 'the loss report at reconnection')
    t.ok((await store.accessTokenStatus({ jti: 'jti', familyId: undefined, userId: 'johndoe' })).notBefore > now, 'the revoked token is refused')
    const redis = inspector(t, own)
    const keys = redisKeys(prefix)
    await store.createFamily(family('f', Date.now() - 10))
    await redis.del(keys.marker(keys.bucketOf('f')))
    t.equal(await store.rotate(rotation('f', 'f-hash', Date.now())), 'invalid', 'rotate does not trust it')
    t.equal(await store.findFamily('f', Date.now()), null, 'nor does findFamily')
  })

  t.test('startup check: settings that lose revocations are reported, or refused by option', async (t) => {
    const own = await startRedisServer(t)
    const { warnings } = await lossWatchedStore(t, own)
    t.match(warnings, [/no persistence \(appendonly no, save ""\): a restart loses every refresh token/], 'no persistence: warned (fails safe)')
    const redis = inspector(t, own)
    await redis.config('SET', 'save', '900 1')
    await redis.config('SET', 'maxmemory', '100mb')
    await redis.config('SET', 'maxmemory-policy', 'allkeys-lru')
    const risky = await lossWatchedStore(t, own)
    t.match(risky.warnings, [/maxmemory-policy is allkeys-lru with maxmemory 104857600: Redis may evict revocations/, /appendonly is no with RDB snapshots \(save 900 1\)/])
    await t.rejects(redisTokenStore({ url: own.url, prefix: uniquePrefix(), unsafeConfig: 'refuse', onWarning: () => {} }), {
      code: 'FST_OAUTH2_UNSAFE_STORE', message: /^The token store could lose revocations: maxmemory-policy is allkeys-lru .*; appendonly is no with RDB snapshots/
    })
    await redis.config('SET', 'appendonly', 'yes')
    await redis.config('SET', 'maxmemory-policy', 'noeviction')
    const safe = await redisTokenStore({ url: own.url, prefix: uniquePrefix(), unsafeConfig: 'refuse', onWarning: () => {} })
    await safe.close()
    t.pass('appendonly yes and noeviction start with refuse')
  })

  t.test('Digest nonce-counts: a nonce older than its bucket\'s data is not vouched for; a lost bucket is found', async (t) => {
    const prefix = uniquePrefix()
    const { store, losses } = await lossWatchedStore(t, server, prefix)
    const redis = inspector(t, server)
    const keys = redisKeys(prefix)
    const now = Date.now()
    t.equal(await store.useNonceCount('nonce', 1, now, now + MINUTE, now), true)
    t.ok(await redis.pttl(keys.nonceCounts('nonce')) > MINUTE - 5000, 'kept until the nonce expires')
    t.equal(await store.useNonceCount('old', 1, now - 10_000, now + MINUTE, now), false, 'issued before the store knew its bucket')
    await redis.del(keys.marker(keys.bucketOf('nonce')))
    t.equal(await store.useNonceCount('nonce', 2, now, now + MINUTE, now), false, 'its bucket was lost: a replay cannot be ruled out')
    t.equal(losses().length, 2, 'the loss is found and reported')
    t.equal(await redis.exists(keys.marker(keys.bucketOf('nonce'))), 1)
  })

  t.test('a marker evicted again at once: nothing from before this second is trusted', async (t) => {
    const client = new Redis(server.url, { ...redisClientOptions })
    await client.connect()
    t.teardown(() => client.disconnect())
    const evicting = new Proxy(client, {
      get (target, property, receiver) {
        if (property !== 'call') return Reflect.get(target, property, receiver)
        return async (command: string, ...args: Array<string | number>) => {
          if (command === 'GET' && String(args[0]).endsWith(':generation')) return null
          return await target.call(command, ...args)
        }
      }
    }) as unknown as RedisClient
    const store = await redisTokenStore({ client: evicting, prefix: uniquePrefix(), onWarning: () => {} })
    t.teardown(() => store.close())
    await store.createFamily(family('f', Date.now() - 10))
    t.equal(await store.findFamily('f', Date.now()), null)
  })

  t.test('Redis failing between the settings check and the markers: the store starts, the first read writes them', async (t) => {
    const client = new Redis(server.url, { ...redisClientOptions })
    await client.connect()
    t.teardown(() => client.disconnect())
    let failSet = true
    const flaky = new Proxy(client, {
      get (target, property, receiver) {
        if (property !== 'call') return Reflect.get(target, property, receiver)
        return async (command: string, ...args: Array<string | number>) => {
          if (command === 'SET' && failSet) throw new Error('Connection is closed.')
          return await target.call(command, ...args)
        }
      }
    }) as unknown as RedisClient
    const prefix = uniquePrefix()
    const warnings: string[] = []
    const store = await redisTokenStore({ client: flaky, prefix, onWarning: (message) => { warnings.push(message) } })
    t.teardown(() => store.close())
    failSet = false
    const now = Date.now()
    t.ok((await store.accessTokenStatus({ jti: 'j', familyId: undefined, userId: 'u' })).notBefore > now, 'nothing from before is trusted')
    t.equal(await inspector(t, server).exists(redisKeys(prefix).marker(0)), 1, 'every marker is written')
    t.equal(warnings.filter((message) => message.includes('lost data')).length, 1)
  })

  t.test('startup check: CONFIG disabled is reported, not fatal; options are checked', async (t) => {
    const client = new Redis(server.url, { ...redisClientOptions })
    await client.connect()
    t.teardown(() => client.disconnect())
    const guarded = new Proxy(client, {
      get (target, property, receiver) {
        if (property !== 'call') return Reflect.get(target, property, receiver)
        return async (command: string, ...args: Array<string | number>) => {
          if (command === 'CONFIG') throw new Error('ERR unknown command \'CONFIG\'')
          return await target.call(command, ...args)
        }
      }
    }) as unknown as RedisClient
    const warnings: string[] = []
    const store = await redisTokenStore({ client: guarded, prefix: uniquePrefix(), unsafeConfig: 'refuse', onWarning: (message) => { warnings.push(message) } })
    t.teardown(() => store.close())
    t.match(warnings[0], /the Redis configuration cannot be read \(CONFIG GET is disabled\)/)
    await t.rejects(redisTokenStore({ url: server.url, unsafeConfig: 'never' as 'warn' }), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option unsafeConfig: must be "warn" or "refuse" (got "never")' })
    await t.rejects(redisTokenStore({ url: server.url, onWarning: 'log' as unknown as () => void }), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option onWarning: must be a function' })
    for (const nodes of [[], 'localhost:7000', ['localhost'], ['redis://localhost:7000'], [7000]]) {
      await t.rejects(redisTokenStore({ nodes: nodes as string[] }), { code: 'FST_OAUTH2_INVALID_OPTION', message: /^Invalid option nodes: must / }, JSON.stringify(nodes))
    }
    await t.rejects(redisTokenStore({ url: server.url, prefix: '{app}:' }), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option prefix: must not contain { or }: the store names its own hash tags' })
  })
}
