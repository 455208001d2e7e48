import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { redisClientOptions, redisTokenStore, type RedisClient } from '../../lib/stores/redis.js'
import type { TokenStore } from '../../lib/stores/token-store.js'
import { freePort, requireRedisServer, startRedisServer, type RedisServer } from '../helpers/redis-server.js'
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
    const ttl = async (key: string) => await redis.pttl(`${prefix}${key}`)
    const near = (value: number, expected: number, what: string) => t.ok(value > expected - 5000 && value <= expected, `${what}: ${value} ms, expected about ${expected}`)
    near(await ttl('family:f'), 2 * MINUTE, 'family: its idle deadline')
    near(await ttl('revoked-jti:jti'), 3 * MINUTE, 'revoked jti: the token exp')
    near(await ttl('not-before:bob'), 4 * MINUTE, 'not-before: the longest token life')
    near(await ttl('revoked-family:g'), 5 * MINUTE, 'revoked family: its access tokens\' life')
    t.equal(await ttl('family:g'), -2, 'a revoked family is deleted')
    t.equal(await store.rotate({ ...rotation('f', 'f-hash', now + MINUTE), idleExpiresAt: now + 7 * MINUTE }), 'rotated')
    near(await ttl('family:f'), 6 * MINUTE, 'a rotation slides the family TTL')
    const keys = await redis.keys(`${prefix}*`)
    t.equal(keys.length, 4)
    for (const key of keys) t.ok(await redis.pttl(key) > 0, `${key} expires`)
  })

  t.test('retention only grows: a shorter one never shortens a revocation', async (t) => {
    const prefix = uniquePrefix()
    const store = await storeFor(t, server, prefix)
    const redis = inspector(t, server)
    const now = Date.now()
    await store.revokeAccessToken('jti', now, now + 3 * MINUTE)
    await store.revokeAccessToken('jti', now, now + MINUTE)
    t.ok(await redis.pttl(`${prefix}revoked-jti:jti`) > 2 * MINUTE)
    await store.revokeUser('bob', now + 1000, now, now + 3 * MINUTE)
    await store.revokeUser('bob', now + 2000, now, now + MINUTE)
    t.equal(await redis.get(`${prefix}not-before:bob`), String(now + 2000), 'the time moves forward')
    t.ok(await redis.pttl(`${prefix}not-before:bob`) > 2 * MINUTE, 'its retention does not shrink')
    await store.revokeUser('bob', now + 500, now, now + 4 * MINUTE)
    t.equal(await redis.get(`${prefix}not-before:bob`), String(now + 2000), 'an earlier time changes nothing')
    t.ok(await redis.pttl(`${prefix}not-before:bob`) > 3 * MINUTE, 'but a longer retention is kept')
    await store.revokeAccessToken('old', now, now - 1)
    t.equal(await redis.exists(`${prefix}revoked-jti:old`), 0, 'a revocation past its retention writes nothing')
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
    t.equal(await redis.exists('fastify-oauth2:revoked-jti:default-prefix'), 1)
    await redis.del('fastify-oauth2:revoked-jti:default-prefix')
  })

  t.test('options are checked', async (t) => {
    await t.rejects(redisTokenStore({}), { code: 'FST_OAUTH2_INVALID_OPTION', message: 'Invalid option redisTokenStore(): takes exactly one of url and client' })
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
