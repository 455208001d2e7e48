import { InvalidOptionError } from '../errors.js'

/**
 * The part of an `ioredis` client (`Redis` or `Cluster`) the Redis store uses, so
 * apps without Redis never need its types and any compatible client works.
 */
export interface RedisClient {
  readonly status: string
  /** `true` on an ioredis `Cluster`: keys of different slots are then never sent in one command. */
  readonly isCluster?: boolean
  call (command: string, ...args: Array<string | number>): Promise<unknown>
  duplicate (): RedisClient
  connect (): Promise<void>
  subscribe (...channels: string[]): Promise<unknown>
  on (event: 'message', listener: (channel: string, message: string) => void): unknown
  on (event: 'ready', listener: () => void): unknown
  on (event: 'error', listener: (error: Error) => void): unknown
  off (event: 'ready', listener: () => void): unknown
  /** A Cluster's primaries, whose settings the store checks one by one. */
  nodes? (role: 'master'): RedisClient[]
  quit (): Promise<unknown>
  disconnect (): void
}

// Reconnect quickly, then every second at most, forever: recovery needs no restart
function reconnectDelay (attempt: number): number {
  return Math.min(attempt * 100, 1000)
}

/**
 * `ioredis` options for a client behind the Redis store: fail fast instead of queueing
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
  retryStrategy: reconnectDelay
})

/**
 * `ioredis` `Cluster` options for a cluster behind the Redis store, in the spirit of
 * {@link redisClientOptions}. The nodes' own connections keep their offline queue:
 * ioredis opens them lazily, on a node's first command; `commandTimeout` bounds the wait.
 */
export const redisClusterOptions = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  clusterRetryStrategy: reconnectDelay,
  redisOptions: Object.freeze({
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 1000,
    commandTimeout: 1000
  })
})

const REDIS_URL = /^rediss?:\/\//
// RFC 3986 host (name, IPv4, or bracketed IPv6) and a port
const SEED_NODE = /^(\[[0-9A-Fa-f:.]+\]|[^\s:/[\]]+):(\d{1,5})$/

function noop (): void {}

async function connected (client: RedisClient): Promise<RedisClient> {
  // Failures surface as rejected commands, which the plugin logs and answers with 503
  client.on('error', noop)
  // A Redis that is down at boot is not fatal: the client keeps reconnecting
  await client.connect().catch(noop)
  return client
}

/** Opens an ioredis client on a `redis://` or `rediss://` URL; `ioredis` is loaded only then (optional peer). */
export async function connectUrl (url: unknown): Promise<RedisClient> {
  if (typeof url !== 'string' || !REDIS_URL.test(url)) throw new InvalidOptionError('url', 'must be a redis:// or rediss:// URL')
  const { Redis } = await import('ioredis')
  return await connected(new Redis(url, { ...redisClientOptions }))
}

function seedNode (node: unknown): { host: string, port: number } {
  const match = typeof node === 'string' ? SEED_NODE.exec(node) : null
  if (match === null) throw new InvalidOptionError('nodes', `must list "host:port" seed nodes (got ${JSON.stringify(node)})`)
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: Number(match[2]) }
}

/** Opens an ioredis `Cluster` on `host:port` seed nodes. */
export async function connectCluster (nodes: unknown): Promise<RedisClient> {
  if (!Array.isArray(nodes) || nodes.length === 0) throw new InvalidOptionError('nodes', 'must be a non-empty array of "host:port" seed nodes')
  const seeds = nodes.map(seedNode)
  const { Cluster } = await import('ioredis')
  return await connected(new Cluster(seeds, { ...redisClusterOptions, redisOptions: { ...redisClusterOptions.redisOptions } }))
}
