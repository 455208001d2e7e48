import { createHash } from 'node:crypto'
import { InvalidOptionError } from '../errors.js'
import {
  type AccessTokenQuery,
  type AccessTokenStatus,
  type NewRefreshTokenFamily,
  type RefreshTokenFamily,
  type RotationOutcome,
  type RotationRequest,
  type TokenStore,
  type LoginFailureCount,
  type LoginFailureCounts,
  type LoginFailureKeys,
  type LoginFailureStore,
  NO_LOGIN_FAILURES
} from './token-store.js'

/**
 * The part of an `ioredis` client this store uses, so apps without Redis never
 * need its types and any compatible client works.
 */
export interface RedisClient {
  readonly status: string
  call (command: string, ...args: Array<string | number>): Promise<unknown>
  duplicate (): RedisClient
  connect (): Promise<void>
  subscribe (...channels: string[]): Promise<unknown>
  on (event: 'message', listener: (channel: string, message: string) => void): unknown
  on (event: 'ready', listener: () => void): unknown
  on (event: 'error', listener: (error: Error) => void): unknown
  quit (): Promise<unknown>
  disconnect (): void
}

/** Options of {@link redisTokenStore}: a `url` (the store opens and closes its client) or a `client` of yours. */
export interface RedisTokenStoreOptions {
  /** `redis://` or `rediss://` URL; `ioredis` is then loaded and configured with {@link redisClientOptions}. */
  url?: string
  /** An `ioredis` client you own (the store never closes it); see {@link redisClientOptions} for the options it needs. */
  client?: RedisClient
  /** Prefix of every key and of the pub/sub channel. Default `'fastify-oauth2:'`. */
  prefix?: string
}

/**
 * `ioredis` options for a client behind this store: fail fast instead of queueing
 * while Redis is down (the plugin answers 503 with `Retry-After` at once), never
 * replay a command whose answer was lost (a rotation must run at most once), and
 * keep reconnecting every second at most so recovery is automatic.
 */
export const redisClientOptions = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  connectTimeout: 1000,
  commandTimeout: 1000,
  retryStrategy: function reconnectDelay (attempt: number): number {
    return Math.min(attempt * 100, 1000)
  }
})

const DEFAULT_PREFIX = 'fastify-oauth2:'

interface Script {
  readonly source: string
  readonly sha: string
}

function script (source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') }
}

// Monotonic revocation marker: set it, or lengthen it, never shorten it
const REMEMBER = `
local function remember (key, ttl)
  if ttl > 0 and redis.call('PTTL', key) < ttl then redis.call('SET', key, '1', 'PX', ttl) end
end
`

// KEYS: family. ARGV: user, scope, issuedAt, expiresAt, idleExpiresAt, tokenHash, ttl, [client]
const CREATE = script(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'u', ARGV[1], 's', ARGV[2], 'i', ARGV[3], 'e', ARGV[4], 'd', ARGV[5], 'h', ARGV[6])
if ARGV[8] then redis.call('HSET', KEYS[1], 'c', ARGV[8]) end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
return 1
`)

// KEYS: family, user not-before, family revocation. ARGV: user, hash, next hash, now, idle deadline, grace, retainUntil, channel
const ROTATE = script(`${REMEMBER}
local f = redis.call('HMGET', KEYS[1], 'u', 'i', 'e', 'd', 'h', 'p', 'r')
if not f[1] or f[1] ~= ARGV[1] then return 'invalid' end
local now = tonumber(ARGV[4])
if now >= tonumber(f[3]) or now >= tonumber(f[4]) then
  redis.call('DEL', KEYS[1])
  return 'invalid'
end
local notBefore = redis.call('GET', KEYS[2])
if notBefore and tonumber(f[2]) < tonumber(notBefore) then
  redis.call('DEL', KEYS[1])
  return 'invalid'
end
if f[5] == ARGV[2] then
  redis.call('HSET', KEYS[1], 'h', ARGV[3], 'p', ARGV[2], 'r', ARGV[4], 'd', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(ARGV[5]) - now))
  return 'rotated'
end
local grace = tonumber(ARGV[6])
if grace > 0 and f[6] == ARGV[2] and now < tonumber(f[7]) + grace then return 'superseded' end
redis.call('DEL', KEYS[1])
remember(KEYS[3], tonumber(ARGV[7]) - now)
redis.call('PUBLISH', ARGV[8], 'family')
return 'reused'
`)

// KEYS: family, family revocation. ARGV: ttl, channel
const REVOKE_FAMILY = script(`${REMEMBER}
redis.call('DEL', KEYS[1])
remember(KEYS[2], tonumber(ARGV[1]))
redis.call('PUBLISH', ARGV[2], 'family')
return 1
`)

// KEYS: access-token revocation. ARGV: ttl, channel
const REVOKE_ACCESS_TOKEN = script(`${REMEMBER}
remember(KEYS[1], tonumber(ARGV[1]))
redis.call('PUBLISH', ARGV[2], 'jti')
return 1
`)

// KEYS: user not-before. ARGV: notBefore, ttl, channel. Neither the time nor the retention ever goes down.
const REVOKE_USER = script(`
local at = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local pttl = redis.call('PTTL', KEYS[1])
if at > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(ttl, pttl, 1))
elseif ttl > pttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
redis.call('PUBLISH', ARGV[3], 'user')
return 1
`)

const REDIS_URL = /^rediss?:\/\//

function resolvePrefix (prefix: unknown): string {
  if (prefix === undefined) return DEFAULT_PREFIX
  if (typeof prefix !== 'string') throw new InvalidOptionError('prefix', `must be a string (got ${typeof prefix})`)
  return prefix
}

function noop (): void {}

async function connectClient (url: unknown): Promise<RedisClient> {
  if (typeof url !== 'string' || !REDIS_URL.test(url)) throw new InvalidOptionError('url', 'must be a redis:// or rediss:// URL')
  // Loaded here, so apps that never use Redis never load ioredis (an optional peer dependency)
  const { Redis } = await import('ioredis')
  const client = new Redis(url, { ...redisClientOptions })
  // Failures surface as rejected commands, which the plugin logs and answers with 503
  client.on('error', noop)
  // A Redis that is down at boot is not fatal: the client keeps reconnecting
  await client.connect().catch(noop)
  return client
}

function resolveClient (options: RedisTokenStoreOptions): Promise<RedisClient> | RedisClient {
  if ((options.url === undefined) === (options.client === undefined)) throw new InvalidOptionError('redisTokenStore()', 'takes exactly one of url and client')
  if (options.client !== undefined) return options.client
  return connectClient(options.url)
}

function isNoScript (error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT')
}

function familyOf (id: string, fields: unknown): RefreshTokenFamily | null {
  const [userId, clientId, scope, issuedAt, expiresAt] = fields as Array<string | null>
  if (userId === null || userId === undefined) return null
  return { id, userId, clientId: clientId ?? null, scope: scope as string, issuedAt: Number(issuedAt), expiresAt: Number(expiresAt) }
}

/**
 * A {@link TokenStore} in Redis, for several instances behind a load balancer.
 * Every change is one Lua script, so rotation and reuse detection are atomic
 * across instances and nothing is ever half-written; every key carries a TTL
 * (`PEXPIRE`) so Redis drops what has expired. Revocations are also published
 * on `<prefix>revocations`, so every instance drops its cached answers at once.
 *
 * Needs a standalone Redis (or a Sentinel-managed primary): a rotation reads the
 * family and its user's not-before key together, which Redis Cluster would
 * place in different slots.
 *
 * @example
 * const store = await redisTokenStore({ url: process.env.REDIS_URL })
 * await app.register(oauth2Password, { ..., refreshTokens: true, store })
 */
export async function redisTokenStore (options: RedisTokenStoreOptions): Promise<TokenStore> {
  const prefix = resolvePrefix(options.prefix)
  const owned = options.url !== undefined
  const client = await resolveClient(options)
  const channel = `${prefix}revocations`
  const listeners = new Set<() => void>()
  let subscriber: RedisClient | null = null

  const familyKey = (id: string): string => `${prefix}family:${id}`
  const familyRevokedKey = (id: string): string => `${prefix}revoked-family:${id}`
  const jtiRevokedKey = (jti: string): string => `${prefix}revoked-jti:${jti}`
  const notBeforeKey = (userId: string): string => `${prefix}not-before:${userId}`

  async function run (code: Script, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await client.call('EVALSHA', code.sha, keys.length, ...keys, ...args)
    } catch (error) {
      // Scripts are cached by Redis until it restarts: send the source once more then
      if (!isNoScript(error)) throw error
      return await client.call('EVAL', code.source, keys.length, ...keys, ...args)
    }
  }

  function notify (): void {
    for (const listener of listeners) listener()
  }

  function subscribe (): void {
    const connection = client.duplicate()
    subscriber = connection
    connection.on('error', noop)
    connection.on('message', notify)
    connection.on('ready', function resubscribe () {
      // Messages sent while this connection was down are lost: whatever was cached may be stale
      notify()
      connection.subscribe(channel).catch(noop)
    })
    if (connection.status === 'wait') connection.connect().catch(noop)
  }

  return {
    async createFamily (family: NewRefreshTokenFamily): Promise<void> {
      const ttl = Math.max(1, Math.min(family.idleExpiresAt, family.expiresAt) - family.issuedAt)
      const args = [family.userId, family.scope, family.issuedAt, family.expiresAt, family.idleExpiresAt, family.tokenHash, ttl]
      await run(CREATE, [familyKey(family.id)], family.clientId === null ? args : [...args, family.clientId])
    },

    async findFamily (familyId: string, now: number): Promise<RefreshTokenFamily | null> {
      const fields = await client.call('HMGET', familyKey(familyId), 'u', 'c', 's', 'i', 'e', 'd') as Array<string | null>
      const family = familyOf(familyId, fields)
      if (family === null || now >= family.expiresAt || now >= Number(fields[5])) return null
      return family
    },

    async rotate (request: RotationRequest): Promise<RotationOutcome> {
      const { familyId, now } = request
      return await run(ROTATE, [familyKey(familyId), notBeforeKey(request.userId), familyRevokedKey(familyId)], [
        request.userId, request.tokenHash, request.nextTokenHash, now, request.idleExpiresAt, request.reuseGrace, request.retainUntil, channel
      ]) as RotationOutcome
    },

    async revokeFamily (familyId: string, now: number, retainUntil: number): Promise<void> {
      await run(REVOKE_FAMILY, [familyKey(familyId), familyRevokedKey(familyId)], [retainUntil - now, channel])
    },

    async revokeAccessToken (jti: string, now: number, retainUntil: number): Promise<void> {
      await run(REVOKE_ACCESS_TOKEN, [jtiRevokedKey(jti)], [retainUntil - now, channel])
    },

    async revokeUser (userId: string, notBefore: number, now: number, retainUntil: number): Promise<void> {
      await run(REVOKE_USER, [notBeforeKey(userId)], [notBefore, retainUntil - now, channel])
    },

    async accessTokenStatus (query: AccessTokenQuery): Promise<AccessTokenStatus> {
      const keys = [jtiRevokedKey(query.jti), notBeforeKey(query.userId)]
      if (query.familyId !== undefined) keys.push(familyRevokedKey(query.familyId))
      const [jti, notBefore, family] = await client.call('MGET', ...keys) as Array<string | null>
      return { revoked: jti !== null || (family !== null && family !== undefined), notBefore: notBefore === null ? 0 : Number(notBefore) }
    },

    onRevocation (listener: () => void): () => void {
      const registration = (): void => listener()
      listeners.add(registration)
      if (subscriber === null) subscribe()
      return function removeListener () {
        listeners.delete(registration)
      }
    },

    async close (): Promise<void> {
      listeners.clear()
      subscriber?.disconnect()
      // quit() waits for pending replies; it fails at once when the connection is down
      if (owned) await client.quit().catch(() => client.disconnect())
    },

    ...redisLoginFailures(run, client, prefix)
  }
}

// ---------------------------------------------------------------------------
// Login-failure counters (account protection). One hash per counter, fields
// n (failures) and t (last failure, ms), expiring windowMs after the last failure.
// Both keys of an attempt carry the address digest as their hash tag, so one
// script can touch both even on Redis Cluster.
// ---------------------------------------------------------------------------

// KEYS: address counter, pair counter. ARGV: now, windowMs. Returns { n, t, n, t }.
// A counter whose window has passed by the caller's clock (field e) starts again from 0.
const RECORD_LOGIN_FAILURE = script(`
local now = tonumber(ARGV[1])
local out = {}
for i = 1, 2 do
  local e = tonumber(redis.call('HGET', KEYS[i], 'e') or '0')
  if e <= now then redis.call('DEL', KEYS[i]) end
  local n = redis.call('HINCRBY', KEYS[i], 'n', 1)
  redis.call('HSET', KEYS[i], 't', ARGV[1], 'e', now + tonumber(ARGV[2]))
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  out[#out + 1] = n
  out[#out + 1] = ARGV[1]
end
return out
`)

// KEYS: address counter, pair counter. ARGV: now. Returns { n, t, n, t }, false for a missing or expired counter
const READ_LOGIN_FAILURES = script(`
local now = tonumber(ARGV[1])
local out = {}
for i = 1, 2 do
  local f = redis.call('HMGET', KEYS[i], 'n', 't', 'e')
  if f[1] and tonumber(f[3]) > now then
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
  else
    out[#out + 1] = false
    out[#out + 1] = false
  end
end
return out
`)

type ScriptRunner = (code: Script, keys: string[], args: Array<string | number>) => Promise<unknown>

function failureCount (failures: unknown, lastFailureAt: unknown): LoginFailureCount {
  if (failures === null || failures === undefined) return NO_LOGIN_FAILURES
  return { failures: Number(failures), lastFailureAt: Number(lastFailureAt) }
}

function failureCounts (reply: unknown): LoginFailureCounts {
  const [addressFailures, addressLast, pairFailures, pairLast] = reply as unknown[]
  return { address: failureCount(addressFailures, addressLast), pair: failureCount(pairFailures, pairLast) }
}

function redisLoginFailures (run: ScriptRunner, client: RedisClient, prefix: string): LoginFailureStore {
  const addressKey = (keys: LoginFailureKeys): string => `${prefix}login-failures:{${keys.address}}`
  const pairKey = (keys: LoginFailureKeys): string => `${prefix}login-failures:{${keys.address}}:${keys.pair}`

  return {
    async recordLoginFailure (keys: LoginFailureKeys, now: number, windowMs: number): Promise<LoginFailureCounts> {
      return failureCounts(await run(RECORD_LOGIN_FAILURE, [addressKey(keys), pairKey(keys)], [now, Math.max(1, Math.ceil(windowMs))]))
    },
    async loginFailures (keys: LoginFailureKeys, now: number): Promise<LoginFailureCounts> {
      return failureCounts(await run(READ_LOGIN_FAILURES, [addressKey(keys), pairKey(keys)], [now]))
    },
    async clearLoginFailures (keys: LoginFailureKeys): Promise<void> {
      await client.call('DEL', pairKey(keys))
    }
  }
}
