/** The part of a Redis connection the check needs: `CONFIG GET` through `call`. */
export interface ConfigReader {
  call (command: string, ...args: Array<string | number>): Promise<unknown>
}

/** What {@link redisConfigFindings} found on one server. */
export interface RedisConfigFinding {
  /** True when revocations could be lost or evicted without the store noticing (a revoked token would work again). */
  readonly unsafe: boolean
  readonly message: string
}

// CONFIG may be renamed away or forbidden by an ACL (managed Redis): then nothing is known, which is not an error
async function configValue (server: ConfigReader, name: string): Promise<string | null> {
  try {
    const reply = await server.call('CONFIG', 'GET', name)
    return Array.isArray(reply) && reply.length >= 2 ? String(reply[1]) : null
  } catch {
    return null
  }
}

function evictionFinding (maxmemory: string, policy: string): RedisConfigFinding | null {
  if (maxmemory === '0' || policy === 'noeviction') return null
  // LRU/LFU keep the markers (read on every check) and evict cold revocations: a loss nobody notices
  return { unsafe: true, message: `maxmemory-policy is ${policy} with maxmemory ${maxmemory}: Redis may evict revocations when full; set maxmemory-policy noeviction` }
}

function persistenceFinding (appendonly: string, save: string): RedisConfigFinding | null {
  if (appendonly === 'yes') return null
  // A restart without any data is detected (generation markers); an old snapshot restored is not
  if (save.trim() !== '') return { unsafe: true, message: `appendonly is no with RDB snapshots (save ${save}): a restart restores an older snapshot, and revocations made since are lost; set appendonly yes` }
  return { unsafe: false, message: 'Redis has no persistence (appendonly no, save ""): a restart loses every refresh token and revocation, and every user logs in again; set appendonly yes' }
}

/**
 * Reads the persistence and eviction settings of one Redis server and says what
 * they mean for revocations. `CONFIG` being unavailable is reported, not thrown.
 */
export async function redisConfigFindings (server: ConfigReader): Promise<RedisConfigFinding[]> {
  const [appendonly, save, maxmemory, policy] = await Promise.all(
    ['appendonly', 'save', 'maxmemory', 'maxmemory-policy'].map((name) => configValue(server, name)))
  if (appendonly === null || save === null || maxmemory === null || policy === null) {
    return [{ unsafe: false, message: 'the Redis configuration cannot be read (CONFIG GET is disabled): make sure of appendonly yes and maxmemory-policy noeviction' }]
  }
  return [evictionFinding(maxmemory, policy), persistenceFinding(appendonly, save)].filter((finding) => finding !== null)
}
