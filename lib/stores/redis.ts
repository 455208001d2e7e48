import { setTimeout as sleep } from 'node:timers/promises'
import { InvalidOptionError, UnsafeStoreError } from '../errors.js'
import { connectCluster, connectUrl, type RedisClient } from './redis-client.js'
import { redisConfigFindings } from './redis-config-check.js'
import { redisLoginFailures } from './redis-login-failures.js'
import { BUCKETS, redisKeys, type RedisKeys } from './redis-keys.js'
import { CONFIRM, CREATE, REVOKE_ACCESS_TOKEN, REVOKE_FAMILY, REVOKE_USER, ROTATE, USE_NONCE_COUNT, type Script } from './redis-scripts.js'
import type {
  AccessTokenQuery,
  AccessTokenStatus,
  NewRefreshTokenFamily,
  RefreshTokenFamily,
  RotationOutcome,
  RotationRequest,
  TokenStore
} from './token-store.js'

export { redisClientOptions, redisClusterOptions, type RedisClient } from './redis-client.js'

/**
 * Options of {@link redisTokenStore}: exactly one of `url`, `nodes` (the store opens
 * and closes its client) and `client` (yours, never closed by the store).
 */
export interface RedisTokenStoreOptions {
  /** `redis://` or `rediss://` URL of a standalone Redis (or a Sentinel-managed primary). */
  url?: string
  /** Redis Cluster seed nodes, `"host:port"` each; an ioredis `Cluster` is opened with {@link redisClusterOptions}. */
  nodes?: readonly string[]
  /**
   * An ioredis `Redis` or `Cluster` you own; see {@link redisClientOptions} and
   * {@link redisClusterOptions} for the options it needs.
   */
  client?: RedisClient
  /** Prefix of every key and of the pub/sub channel, without `{` `}` (they are the buckets' hash tags). Default `'fastify-oauth2:'`. */
  prefix?: string
  /**
   * At startup the store reads `CONFIG GET appendonly, save, maxmemory, maxmemory-policy`
   * on every primary. Settings that can lose revocations without notice (eviction,
   * snapshots only) are reported through `onWarning` (`'warn'`, the default) or make
   * the store refuse to start with `FST_OAUTH2_UNSAFE_STORE` (`'refuse'`).
   */
  unsafeConfig?: 'warn' | 'refuse'
  /**
   * Receives the store's warnings: risky Redis settings, and data found lost (a
   * security event: tokens issued before it are refused). Never given a token or
   * a hash. Default: `process.emitWarning`.
   */
  onWarning?: (message: string) => void
}

const DEFAULT_PREFIX = 'fastify-oauth2:'

function resolvePrefix (prefix: unknown): string {
  if (prefix === undefined) return DEFAULT_PREFIX
  if (typeof prefix !== 'string') throw new InvalidOptionError('prefix', `must be a string (got ${typeof prefix})`)
  if (/[{}]/.test(prefix)) throw new InvalidOptionError('prefix', 'must not contain { or }: the store names its own hash tags')
  return prefix
}

function resolveUnsafeConfig (value: unknown): 'warn' | 'refuse' {
  if (value === undefined || value === 'warn' || value === 'refuse') return value ?? 'warn'
  throw new InvalidOptionError('unsafeConfig', `must be "warn" or "refuse" (got ${JSON.stringify(value)})`)
}

function emitWarning (message: string): void {
  process.emitWarning(message, 'FastifyOAuth2PasswordWarning')
}

function resolveOnWarning (value: unknown): (message: string) => void {
  if (value === undefined) return emitWarning
  if (typeof value !== 'function') throw new InvalidOptionError('onWarning', 'must be a function')
  return value as (message: string) => void
}

/* c8 ignore next: called only when a Redis call fails in the background (subscriber, marker refresh), which the suite reaches only by timing */
function noop (): void {}

function resolveClient (options: RedisTokenStoreOptions): Promise<RedisClient> | RedisClient {
  const given = [options.url, options.nodes, options.client].filter((value) => value !== undefined).length
  if (given !== 1) throw new InvalidOptionError('redisTokenStore()', 'takes exactly one of url, nodes and client')
  if (options.client !== undefined) return options.client
  if (options.nodes !== undefined) return connectCluster(options.nodes)
  return connectUrl(options.url)
}

function isNoScript (error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

// Scripts answer an outcome name, or a repeated rotation as [name, seed]
function outcomeOf (reply: unknown): RotationOutcome {
  if (!Array.isArray(reply)) return reply as RotationOutcome
  return { outcome: 'repeated', successorSeed: String(reply[1]) }
}

function familyOf (id: string, fields: unknown): RefreshTokenFamily | null {
  const [userId, clientId, scope, issuedAt, expiresAt] = fields as Array<string | null>
  if (userId === null || userId === undefined) return null
  return { id, userId, clientId: clientId ?? null, scope: scope as string, issuedAt: Number(issuedAt), expiresAt: Number(expiresAt) }
}

/**
 * The time from which a bucket found empty is complete again: the next whole
 * second, because access tokens' `iat` counts whole seconds and a token issued
 * earlier in this second may already have been revoked and forgotten.
 */
function nextWholeSecond (now: number): number {
  return (Math.floor(now / 1000) + 1) * 1000
}

async function checkConfig (client: RedisClient, policy: 'warn' | 'refuse', warn: (message: string) => void): Promise<void> {
  const servers = client.nodes?.('master') ?? [client]
  const findings = (await Promise.all(servers.map(redisConfigFindings))).flat()
  const unsafe = findings.filter((finding) => finding.unsafe)
  if (policy === 'refuse' && unsafe.length > 0) throw new UnsafeStoreError(unsafe.map((finding) => finding.message).join('; '))
  for (const message of new Set(findings.map((finding) => finding.message))) warn(`fastify-oauth2-password: ${message}`)
}

interface Connection {
  readonly client: RedisClient
  readonly keys: RedisKeys
  readonly warn: (message: string) => void
  /** Listeners of revocation notices (and of losses: every cached answer may be wrong). */
  readonly notify: () => void
}

/** Runs a script by its SHA; Redis forgets scripts when it restarts: then the source is sent once more. */
async function run ({ client }: Connection, code: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
  try {
    return await client.call('EVALSHA', code.sha, keys.length, ...keys, ...args)
  } catch (error) {
    if (!isNoScript(error)) throw error
    return await client.call('EVAL', code.source, keys.length, ...keys, ...args)
  }
}

/**
 * The generation markers: one per bucket, so a bucket emptied by a flush, a restart
 * without persistence or an eviction is told from one that never held anything.
 */
function createMarkers (connection: Connection) {
  const { client, keys } = connection
  let initialising: Promise<{ missing: number, since: number }> | null = null

  async function writeMissing (): Promise<{ missing: number, since: number }> {
    const since = nextWholeSecond(Date.now())
    const replies = await Promise.all(Array.from({ length: BUCKETS }, (_, bucket) => client.call('SET', keys.marker(bucket), since, 'NX')))
    const missing = replies.filter((reply) => reply !== null).length
    // All missing: a first use, or everything lost; some: a loss for sure. Either way older tokens are refused
    if (missing > 0) {
      connection.notify()
      // Other instances drop their cached answers too
      await client.call('PUBLISH', keys.channel, 'lost')
      connection.warn(`fastify-oauth2-password: the token store lost data, or is used for the first time (${missing} of ${BUCKETS} generation markers missing: Redis flushed, restarted without persistence, or evicted keys); tokens issued before ${new Date(since).toISOString()} are refused and their users log in again`)
    }
    return { missing, since }
  }

  /** Writes every missing marker, once however many callers ask at the same time; one report per loss found. */
  function initialise (): Promise<{ missing: number, since: number }> {
    initialising ??= writeMissing().finally(() => { initialising = null })
    return initialising
  }

  /** The time a bucket's data is complete from, given its marker as read; a missing marker means a loss. */
  async function since (bucket: number, marker: unknown): Promise<number> {
    if (marker !== null && marker !== undefined) return Number(marker)
    await initialise()
    const written = await client.call('GET', keys.marker(bucket))
    // Evicted again already: still nothing from before this second can be trusted
    return written === null ? nextWholeSecond(Date.now()) : Number(written)
  }

  return { initialise, since }
}

/** Sends groups of keys, each group within one slot, as few `MGET`s as the client allows. */
async function mgetGroups (client: RedisClient, groups: string[][]): Promise<Array<Array<string | null>>> {
  if (client.isCluster === true) return await Promise.all(groups.map(async (group) => await client.call('MGET', ...group) as Array<string | null>))
  const values = await client.call('MGET', ...groups.flat()) as Array<string | null>
  let offset = 0
  return groups.map((group) => values.slice(offset, (offset += group.length)))
}

function subscriber (connection: Connection, channel: string): () => void {
  const subscription = connection.client.duplicate()
  subscription.on('error', noop)
  subscription.on('message', connection.notify)
  subscription.on('ready', function resubscribe () {
    // Messages sent while this connection was down are lost: whatever was cached may be stale
    connection.notify()
    subscription.subscribe(channel).catch(noop)
  })
  if (subscription.status === 'wait') subscription.connect().catch(noop)
  return () => subscription.disconnect()
}

/**
 * A {@link TokenStore} in Redis (standalone, Sentinel or Cluster), for several
 * instances behind a load balancer.
 *
 * - Every change is one Lua script: rotation and reuse detection are atomic across
 *   instances, nothing is ever half-written, and every write is safe to repeat.
 * - Keys live in 1024 buckets, each a Cluster hash tag, so each script's keys share
 *   a slot and the data spreads over the shards. Every key carries a TTL except the
 *   buckets' generation markers.
 * - Data loss fails safe: a bucket whose marker is gone (flush, restart without
 *   persistence, eviction) gets a new one, and every token whose state was in it and
 *   that was issued before is refused; the loss is reported once through `onWarning`.
 * - Revocations are published on `<prefix>revocations` (Cluster broadcasts it to
 *   every node), so every instance drops its cached answers at once.
 *
 * Resolves once the settings are checked and the markers are in place (waiting
 * for the next whole second when some were missing, see the README). A Redis
 * that is down at startup is not fatal: its markers are written on connection,
 * but its settings go unchecked.
 *
 * @throws `FST_OAUTH2_INVALID_OPTION` for bad options; `FST_OAUTH2_UNSAFE_STORE` with `unsafeConfig: 'refuse'`.
 * @example
 * const store = await redisTokenStore({ url: process.env.REDIS_URL, unsafeConfig: 'refuse' })
 * await app.register(oauth2Password, { ..., refreshTokens: true, store })
 */
export async function redisTokenStore (options: RedisTokenStoreOptions): Promise<TokenStore> {
  const prefix = resolvePrefix(options.prefix)
  const unsafeConfig = resolveUnsafeConfig(options.unsafeConfig)
  const warn = resolveOnWarning(options.onWarning)
  const owned = options.client === undefined
  const client = await resolveClient(options)
  const keys = redisKeys(prefix)
  const listeners = new Set<() => void>()
  const connection: Connection = { client, keys, warn, notify () { for (const listener of listeners) listener() } }
  const markers = createMarkers(connection)
  let unsubscribe: (() => void) | null = null

  if (client.status === 'ready') {
    await checkConfig(client, unsafeConfig, warn).catch(async (error: unknown) => {
      if (owned) client.disconnect()
      throw error
    })
    // Redis gone again already: the markers are written on reconnection, or by the first read that misses one
    const { missing, since } = await markers.initialise().catch(() => ({ missing: 0, since: 0 }))
    // Tokens issued from now on must not count as older than the new markers
    if (missing > 0) await sleep(Math.max(0, since - Date.now()))
  }
  // On every (re)connection: a Redis restarted without its data is found at once, not bucket by bucket
  function onReady (): void {
    markers.initialise().catch(noop)
  }
  client.on('ready', onReady)

  return {
    async createFamily (family: NewRefreshTokenFamily): Promise<void> {
      const ttl = Math.max(1, Math.min(family.idleExpiresAt, family.expiresAt) - family.issuedAt)
      const args = [family.userId, family.scope, family.issuedAt, family.expiresAt, family.idleExpiresAt, family.tokenHash, ttl]
      await run(connection, CREATE, [keys.family(family.id)], family.clientId === null ? args : [...args, family.clientId])
    },

    async findFamily (familyId: string, now: number): Promise<RefreshTokenFamily | null> {
      const bucket = keys.bucketOf(familyId)
      const [fields, marker] = await Promise.all([
        client.call('HMGET', keys.family(familyId), 'u', 'c', 's', 'i', 'e', 'd') as Promise<Array<string | null>>,
        client.call('GET', keys.marker(bucket))
      ])
      const since = await markers.since(bucket, marker)
      const family = familyOf(familyId, fields)
      if (family === null || now >= family.expiresAt || now >= Number(fields[5]) || family.issuedAt < since) return null
      return family
    },

    async rotate (request: RotationRequest): Promise<RotationOutcome> {
      const { familyId, now } = request
      // The user's not-before time lives in the user's bucket, another slot: read first, passed to the script.
      // A revocation landing in between lets this one rotation through, as if it came first; the next one is refused
      const userBucket = keys.bucketOf(request.userId)
      const [marker, notBefore] = await client.call('MGET', keys.marker(userBucket), keys.notBefore(request.userId)) as Array<string | null>
      const userNotBefore = Math.max(await markers.since(userBucket, marker), Number(notBefore ?? 0))
      return outcomeOf(await run(connection, ROTATE, [keys.family(familyId), keys.revokedFamily(familyId), keys.marker(keys.bucketOf(familyId))], [
        request.userId, request.tokenHash, request.nextTokenHash, now, request.idleExpiresAt, request.reuseGrace, request.retainUntil, keys.channel,
        request.successorSeed, request.retryWindow, userNotBefore
      ]))
    },

    async confirmRotation (familyId: string, tokenHash: string): Promise<void> {
      await run(connection, CONFIRM, [keys.family(familyId)], [tokenHash])
    },

    async revokeFamily (familyId: string, now: number, retainUntil: number): Promise<void> {
      await run(connection, REVOKE_FAMILY, [keys.family(familyId), keys.revokedFamily(familyId)], [retainUntil - now, keys.channel])
    },

    async revokeAccessToken (jti: string, now: number, retainUntil: number): Promise<void> {
      await run(connection, REVOKE_ACCESS_TOKEN, [keys.revokedJti(jti)], [retainUntil - now, keys.channel])
    },

    async revokeUser (userId: string, notBefore: number, now: number, retainUntil: number): Promise<void> {
      await run(connection, REVOKE_USER, [keys.notBefore(userId)], [notBefore, retainUntil - now, keys.channel])
    },

    async accessTokenStatus (query: AccessTokenQuery): Promise<AccessTokenStatus> {
      const buckets = [keys.bucketOf(query.jti), keys.bucketOf(query.userId)]
      const groups = [[keys.marker(buckets[0] as number), keys.revokedJti(query.jti)], [keys.marker(buckets[1] as number), keys.notBefore(query.userId)]]
      if (query.familyId !== undefined) {
        buckets.push(keys.bucketOf(query.familyId))
        groups.push([keys.marker(buckets[2] as number), keys.revokedFamily(query.familyId)])
      }
      const replies = await mgetGroups(client, groups)
      // A bucket's marker time is a not-before time for every token whose state it holds
      const since = await Promise.all(replies.map(async ([marker], index) => await markers.since(buckets[index] as number, marker)))
      const [[, jti], [, userNotBefore], family] = replies as [[unknown, string | null], [unknown, string | null], Array<string | null> | undefined]
      return { revoked: jti !== null || (family?.[1] ?? null) !== null, notBefore: Math.max(Number(userNotBefore ?? 0), ...since) }
    },

    async useNonceCount (nonce: string, nonceCount: number, issuedAt: number, expiresAt: number, now: number): Promise<boolean> {
      const bucket = keys.bucketOf(nonce)
      const used = await run(connection, USE_NONCE_COUNT, [keys.nonceCounts(nonce), keys.marker(bucket)], [nonceCount, issuedAt, expiresAt - now])
      // The bucket's data was lost: write its marker (and report the loss); this nonce's counts cannot be vouched for
      if (used === -1) await markers.since(bucket, null)
      return used === 1
    },

    onRevocation (listener: () => void): () => void {
      const registration = (): void => listener()
      listeners.add(registration)
      unsubscribe ??= subscriber(connection, keys.channel)
      return function removeListener () {
        listeners.delete(registration)
      }
    },

    async close (): Promise<void> {
      listeners.clear()
      client.off('ready', onReady)
      unsubscribe?.()
      // quit() waits for pending replies; it fails at once when the connection is down
      if (owned) await client.quit().catch(() => client.disconnect())
    },

    ...redisLoginFailures((code, scriptKeys, args) => run(connection, code, scriptKeys, args), client, prefix)
  }
}
