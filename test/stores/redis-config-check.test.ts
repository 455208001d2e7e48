import t from 'tap'
import { redisConfigFindings } from '../../lib/stores/redis-config-check.js'

// The startup check of the Redis store, against canned CONFIG GET answers (real servers: redis.test.ts)

function server (config: Record<string, string | undefined>) {
  return {
    async call (_command: string, _get: string | number, name: string | number) {
      const value = config[String(name)]
      return value === undefined ? [] : [name, value]
    }
  }
}

t.test('safe settings: nothing to say', async (t) => {
  t.same(await redisConfigFindings(server({ appendonly: 'yes', save: '3600 1', maxmemory: '0', 'maxmemory-policy': 'allkeys-lru' })), [], 'no maxmemory: nothing is evicted')
  t.same(await redisConfigFindings(server({ appendonly: 'yes', save: '', maxmemory: '1gb', 'maxmemory-policy': 'noeviction' })), [])
})

t.test('eviction of keys with a TTL: unsafe', async (t) => {
  t.same(await redisConfigFindings(server({ appendonly: 'yes', save: '', maxmemory: '1073741824', 'maxmemory-policy': 'volatile-lru' })), [
    { unsafe: true, message: 'maxmemory-policy is volatile-lru with maxmemory 1073741824: Redis may evict revocations when full; set maxmemory-policy noeviction' }
  ])
})

t.test('a parameter unknown to the server (an empty answer) counts as unreadable', async (t) => {
  const findings = await redisConfigFindings(server({ appendonly: 'yes', save: '', maxmemory: '0' }))
  t.equal(findings.length, 1)
  t.match(findings[0], { unsafe: false, message: /cannot be read/ })
})
