import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Cluster, type Redis } from 'ioredis'
import t from 'tap'
import { redisClusterOptions, redisTokenStore } from '../../lib/stores/redis.js'
import { BUCKETS, redisKeys } from '../../lib/stores/redis-keys.js'
import { requireRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js'
import { tokenStoreConformance } from './conformance.js'

// Issue 12 §3: the Redis store on a real 3-master Redis Cluster, given seed nodes or an ioredis Cluster.

const MINUTE = 60_000

function uniquePrefix (): string {
  return `test-${randomBytes(6).toString('hex')}:`
}

function quiet (): void {}

// The conformance suite waits for pub/sub; each fresh store waits for its markers' whole second
t.setTimeout(240_000)

if (requireRedisCluster(t)) {
  const cluster = await startRedisCluster(t)

  t.test('conformance, seed nodes', async (t) => {
    tokenStoreConformance(t, () => redisTokenStore({ nodes: cluster.nodes, prefix: uniquePrefix(), onWarning: quiet }))
  })

  t.test('an ioredis Cluster of yours: every operation, and notices reach another instance', async (t) => {
    const client = new Cluster(cluster.nodes.map((node) => ({ host: '127.0.0.1', port: Number(node.split(':')[1]) })), { ...redisClusterOptions, redisOptions: { ...redisClusterOptions.redisOptions } })
    await client.connect()
    t.teardown(() => client.disconnect())
    const prefix = uniquePrefix()
    const here = await redisTokenStore({ client, prefix, onWarning: quiet })
    const there = await redisTokenStore({ nodes: cluster.nodes, prefix, onWarning: quiet })
    t.teardown(() => there.close())
    let notices = 0
    there.onRevocation(() => { notices++ })
    await sleep(500)
    notices = 0
    const now = Date.now()
    const family = { id: 'f', userId: 'johndoe', clientId: null, scope: 'me', issuedAt: now, expiresAt: now + 30 * MINUTE, tokenHash: 'h', idleExpiresAt: now + 10 * MINUTE }
    await here.createFamily(family)
    t.ok(await there.findFamily('f', now))
    const rotation = { familyId: 'f', userId: 'johndoe', tokenHash: 'h', nextTokenHash: 'h2', now, idleExpiresAt: now + MINUTE, reuseGrace: 0, retainUntil: now + MINUTE, successorSeed: 's', retryWindow: 0 }
    t.equal(await there.rotate(rotation), 'rotated')
    await here.revokeAccessToken('jti', now, now + MINUTE)
    await here.revokeUser('bob', now + 1000, now, now + MINUTE)
    await here.revokeFamily('f', now, now + MINUTE)
    t.same(await there.accessTokenStatus({ jti: 'jti', familyId: 'f', userId: 'bob' }), { revoked: true, notBefore: now + 1000 })
    const deadline = Date.now() + 5000
    const received = (): number => notices
    while (received() < 3 && Date.now() < deadline) await sleep(20)
    t.ok(notices >= 3, `revocation notices crossed the cluster (${notices})`)
    await here.close()
    t.equal(client.status, 'ready', 'your client stays open')
  })

  t.test('keys spread over every shard, each script\'s keys in one slot', async (t) => {
    const prefix = uniquePrefix()
    const store = await redisTokenStore({ nodes: cluster.nodes, prefix, onWarning: quiet })
    t.teardown(() => store.close())
    const now = Date.now()
    for (let i = 0; i < 60; i++) {
      await store.createFamily({ id: `family-${i}`, userId: `user-${i}`, clientId: null, scope: '', issuedAt: now, expiresAt: now + MINUTE, tokenHash: 'h', idleExpiresAt: now + MINUTE })
    }
    const counts = await Promise.all(cluster.masters.map(async (master) => (await master.keys(`${prefix}*family:*`)).length))
    t.equal(counts.reduce((sum, count) => sum + count, 0), 60)
    t.ok(counts.every((count) => count >= 5), `families on every master: ${counts.join(', ')}`)
    const markers = await Promise.all(cluster.masters.map(async (master) => (await master.keys(`${prefix}*generation`)).length))
    t.equal(markers.reduce((sum, count) => sum + count, 0), BUCKETS, 'one generation marker per bucket, spread too')
    const keys = redisKeys(prefix)
    t.equal(keys.family('x').slice(0, keys.family('x').indexOf('}') + 1), keys.revokedFamily('x').slice(0, keys.revokedFamily('x').indexOf('}') + 1), 'a family and its revocation share a hash tag')
  })

  t.test('one master flushed: the tokens whose state it held are refused, the loss is reported', async (t) => {
    const warnings: string[] = []
    const prefix = uniquePrefix()
    const store = await redisTokenStore({ nodes: cluster.nodes, prefix, onWarning: (message) => { warnings.push(message) } })
    t.teardown(() => store.close())
    const now = Date.now()
    const jtis = Array.from({ length: 30 }, (_, i) => `jti-${i}`)
    for (const jti of jtis) await store.revokeAccessToken(jti, now, now + MINUTE)
    await (cluster.masters[0] as Redis).flushall()
    const statuses = await Promise.all(jtis.map((jti) => store.accessTokenStatus({ jti, familyId: undefined, userId: 'johndoe' })))
    t.ok(statuses.every((status) => status.revoked || status.notBefore > now), 'every revoked token is still refused: revoked, or issued before the loss')
    t.ok(statuses.some((status) => !status.revoked), 'some revocations were on the flushed master')
    t.equal(warnings.filter((message) => message.includes('lost data')).length, 2, 'first use, then the loss')
  })
}
