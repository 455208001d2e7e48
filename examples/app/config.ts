import { Buffer } from 'node:buffer'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

/** The example server's settings, read from the environment by {@link readConfig}. */
export interface ExampleConfig {
  /** `PORT`: TCP port, 0 for any free one. Default 3000. */
  port: number
  /** `HOST`: address to listen on. Default `127.0.0.1` (loopback only). */
  host: string
  /** `JWT_SECRET`: HS256 secret, at least 32 bytes. Default: 32 random bytes per start. */
  jwtSecret: string
  /** Whether `JWT_SECRET` was unset and {@link jwtSecret} was made up for this run. */
  jwtSecretGenerated: boolean
  /** `BCRYPT_COST`: bcrypt work factor, 4 to 31. Default 12. */
  bcryptCost: number
  /** `PASSWORD_HASH`: `bcrypt` (default, as the tutorial) or `argon2id` (OWASP parameters) for new hashes; both verify. */
  passwordHash: PasswordHash
  /** `DATABASE`: SQLite file (or `:memory:`). Default `examples/app/example.db`. */
  database: string
  /** `REDIS_URL`: keep refresh tokens and revocations in this Redis, shared by every instance. Default: in memory. */
  redisUrl: string | undefined
  /** `REDIS_CLUSTER`: Redis Cluster seed nodes instead, `host:port,host:port,…`. Default: none. */
  redisCluster: string[] | undefined
}

/** The algorithms `PASSWORD_HASH` names. */
export type PasswordHash = 'bcrypt' | 'argon2id'

/** A setting of the environment is unusable; the message names the variable. */
export class ConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

/** The SQLite file used when `DATABASE` is unset: next to this file, whatever the working directory. */
export const DEFAULT_DATABASE = fileURLToPath(new URL('./example.db', import.meta.url))

const DEFAULTS = { port: 3000, host: '127.0.0.1', bcryptCost: 12 } as const

// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output, 256 bits
const MIN_SECRET_BYTES = 32
const DIGITS = /^\d{1,5}$/

function integer (name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === '') return fallback
  const number = DIGITS.test(value) ? Number(value) : Number.NaN
  if (!(number >= min && number <= max)) throw new ConfigError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value.slice(0, 20))})`)
  return number
}

function passwordHash (value: string | undefined): PasswordHash {
  if (value === undefined || value === '') return 'bcrypt'
  if (value !== 'bcrypt' && value !== 'argon2id') throw new ConfigError(`PASSWORD_HASH must be bcrypt or argon2id (got ${JSON.stringify(value.slice(0, 20))})`)
  return value
}

function jwtSecret (value: string | undefined): { jwtSecret: string, jwtSecretGenerated: boolean } {
  if (value === undefined || value === '') return { jwtSecret: randomBytes(MIN_SECRET_BYTES).toString('base64url'), jwtSecretGenerated: true }
  // The secret itself never appears in the message: only its length
  const bytes = Buffer.byteLength(value, 'utf8')
  if (bytes < MIN_SECRET_BYTES) throw new ConfigError(`JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes (got ${bytes})`)
  return { jwtSecret: value, jwtSecretGenerated: false }
}

/**
 * Reads `PORT`, `HOST`, `JWT_SECRET`, `BCRYPT_COST`, `PASSWORD_HASH`, `DATABASE`, `REDIS_URL` and `REDIS_CLUSTER`; unset or empty
 * variables take their defaults. Throws {@link ConfigError} for a value it cannot use.
 *
 * @example
 * const config = readConfig({ PORT: '0', DATABASE: ':memory:', BCRYPT_COST: '4' })
 */
export function readConfig (env: Readonly<Record<string, string | undefined>> = process.env): ExampleConfig {
  return {
    port: integer('PORT', env.PORT, DEFAULTS.port, 0, 65535),
    host: env.HOST === undefined || env.HOST === '' ? DEFAULTS.host : env.HOST,
    ...jwtSecret(env.JWT_SECRET),
    bcryptCost: integer('BCRYPT_COST', env.BCRYPT_COST, DEFAULTS.bcryptCost, 4, 31),
    passwordHash: passwordHash(env.PASSWORD_HASH),
    database: env.DATABASE === undefined || env.DATABASE === '' ? DEFAULT_DATABASE : env.DATABASE,
    redisUrl: env.REDIS_URL === undefined || env.REDIS_URL === '' ? undefined : env.REDIS_URL,
    redisCluster: env.REDIS_CLUSTER === undefined || env.REDIS_CLUSTER === '' ? undefined : env.REDIS_CLUSTER.split(',').map((node) => node.trim())
  }
}
