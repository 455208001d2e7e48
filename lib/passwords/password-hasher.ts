import { availableParallelism } from 'node:os'
import { ConcurrencyGate, GateFullError } from '../util/concurrency-gate.js'
import { type OAuth2Error, PasswordTooLongError, TemporarilyUnavailableError, withRefusalHeaders } from '../errors.js'
import { argon2Verify } from './argon2.js'
import { BCRYPT_MAX_PASSWORD_BYTES, DEFAULT_BCRYPT_COST, exceedsBcryptLimit, verifyPassword as bcryptVerifyPassword } from './bcrypt.js'
import { createLoginWork, type SpentWork } from './login-work.js'
import { hashingParameters, hashPassword, meetsParameters, type HashingParameters, type PasswordHashingOptions } from './password-hashing.js'

/** Options of {@link createPasswordHasher}: the algorithm and its parameters, and the gate's bounds. */
export type PasswordHasherOptions = PasswordHashingOptions & {
  /**
   * Hashing jobs running at once. Default: one less than the cores
   * (`os.availableParallelism()`) and than the libuv threadpool size
   * (`UV_THREADPOOL_SIZE`, 4 unless set), at least 1.
   */
  maxConcurrent?: number
  /** Hashing jobs allowed to wait for a slot; beyond it logins are refused at once. Default `32 * maxConcurrent`. */
  maxQueue?: number
}

/** Password hashing and checking for the token endpoint, bounded and timing-safe. */
export interface PasswordHasher {
  /** The algorithm and parameters of new hashes and of {@link PasswordHasher.needsRehash}. */
  readonly parameters: HashingParameters
  /** The configured bcrypt cost; 12 when Argon2id is configured (read `parameters`). */
  readonly cost: number
  /** Longest password in UTF-8 bytes: 72 with bcrypt (its input limit), `null` (none) with Argon2id. */
  readonly maxPasswordBytes: number | null
  /** Hashing jobs allowed to run at once. */
  readonly maxConcurrent: number
  /** Hashing jobs allowed to wait. */
  readonly maxQueue: number
  /** Hashing jobs running now. */
  readonly running: number
  /** Hashing jobs waiting now. */
  readonly queued: number
  /**
   * Checks a login against a stored bcrypt or Argon2id hash. Every check costs
   * the same work, whatever the stored hash: `hash` null (unknown user) or
   * unusable, or of other parameters than configured, is padded with throwaway
   * hashing up to the configured parameters or the strongest stored hash seen so
   * far. Rejects with `TemporarilyUnavailableError` (503, `headers['retry-after']`)
   * when the gate is full, and `Argon2UnavailableError` for an Argon2id hash
   * without `@node-rs/argon2`.
   */
  verify: (password: string, hash: string | null) => Promise<boolean>
  /** Hashes with the configured parameters through the gate; same refusals as `verify`, plus `PasswordTooLongError` (bcrypt). */
  hash: (password: string) => Promise<string>
  /** True when `hash` has another algorithm or weaker parameters than configured, or is not a recognised hash. */
  needsRehash: (hash: string) => boolean
  /**
   * Throws the same 503 `verify` would when the gate is full, so a login flood is
   * refused before any user lookup or form work beyond parsing.
   */
  assertCapacity: () => void
}

// libuv sizes its pool from UV_THREADPOOL_SIZE with atoi(), 0 meaning 1 and a
// cap of 1024 (an unsigned int, so a negative value wraps to the cap).
// See uv's src/threadpool.c, init_threads().
const LIBUV_DEFAULT_THREADPOOL_SIZE = 4
const LIBUV_MAX_THREADPOOL_SIZE = 1024

function libuvThreadpoolSize (): number {
  const value = process.env.UV_THREADPOOL_SIZE
  if (value === undefined) return LIBUV_DEFAULT_THREADPOOL_SIZE
  const size = Number.parseInt(value, 10)
  if (Number.isNaN(size) || size === 0) return 1
  if (size < 0 || size > LIBUV_MAX_THREADPOOL_SIZE) return LIBUV_MAX_THREADPOOL_SIZE
  return size
}

// One core is left to the event loop, so protected routes stay fast during a
// login flood. bcrypt runs on the libuv threadpool, which fs, dns.lookup, zlib
// and async crypto share: more jobs than threads would only wait inside libuv,
// out of the gate's sight, and holding every thread would stall those too, so
// one thread is left free as well.
function defaultMaxConcurrent (): number {
  return Math.max(1, Math.min(availableParallelism() - 1, libuvThreadpoolSize() - 1))
}

// 32 waiting jobs per slot: at the default cost (a few hundred milliseconds
// each) the last one starts within ~8 seconds, about as long as a person or an
// HTTP client waits for a login. A longer queue only adds latency to answers
// that would come too late; a refusal with Retry-After is cheaper for everyone.
const QUEUE_PER_SLOT = 32

function unavailable (retryAfterSeconds: number): OAuth2Error {
  // RFC 9110 §10.2.3: Retry-After as delay-seconds
  return withRefusalHeaders(new TemporarilyUnavailableError('Too many login attempts in progress, retry later') as OAuth2Error, { 'retry-after': String(retryAfterSeconds) })
}

async function throughGate<T> (gate: ConcurrencyGate, job: () => Promise<T>): Promise<T> {
  try {
    return await gate.run(job)
  } catch (err) {
    if (err instanceof GateFullError) throw unavailable(err.retryAfterSeconds)
    throw err
  }
}

// Verifies against the stored hash when it can: a bcrypt hash cannot check a password over 72 bytes,
// and nothing checks a password that is not a string (a missing form field), which is simply wrong
async function verifyStored (password: unknown, hash: string | null, work: SpentWork | null): Promise<{ valid: boolean, spent: SpentWork | null }> {
  if (work === null || typeof password !== 'string') return { valid: false, spent: null }
  if (work.algorithm === 'argon2id') return { valid: await argon2Verify(password, hash as string), spent: work }
  if (exceedsBcryptLimit(password)) return { valid: false, spent: null }
  return { valid: await bcryptVerifyPassword(password, hash as string), spent: work }
}

function gateBounds (options: PasswordHasherOptions): { maxConcurrent: number, maxQueue: number } {
  const maxConcurrent = options.maxConcurrent ?? defaultMaxConcurrent()
  return { maxConcurrent, maxQueue: options.maxQueue ?? QUEUE_PER_SLOT * maxConcurrent }
}

/**
 * Creates the hasher the token endpoint uses: bcrypt or Argon2id off the event
 * loop, bounded by a {@link ConcurrencyGate}, with the same work for unknown
 * users, wrong passwords and disabled accounts whatever the stored hashes'
 * parameters. Throws a `TypeError`/`RangeError` naming the bad option. With
 * Argon2id configured, load `@node-rs/argon2` first (`loadArgon2()`).
 *
 * @example
 * ```ts
 * const hasher = createPasswordHasher({ algorithm: 'argon2id' })
 * const user = await users.findByUsername(username)
 * if (!await hasher.verify(password, user?.passwordHash ?? null)) throw new InvalidGrantError('Incorrect username or password')
 * if (hasher.needsRehash(user.passwordHash)) await onRehash(user, await hasher.hash(password))
 * ```
 */
export function createPasswordHasher (options: PasswordHasherOptions = {}): PasswordHasher {
  const parameters = hashingParameters(options)
  const { maxConcurrent, maxQueue } = gateBounds(options)
  const gate = new ConcurrencyGate({ maxConcurrent, maxQueue })
  const work = createLoginWork(parameters)
  const bcrypt = parameters.algorithm === 'bcrypt'

  return {
    parameters,
    cost: bcrypt ? parameters.cost : DEFAULT_BCRYPT_COST,
    maxPasswordBytes: bcrypt ? BCRYPT_MAX_PASSWORD_BYTES : null,
    maxConcurrent,
    maxQueue,
    get running () { return gate.running },
    get queued () { return gate.queued },

    assertCapacity (): void {
      if (gate.full) throw unavailable(gate.retryAfterSeconds())
    },

    async verify (password: string, hash: string | null): Promise<boolean> {
      // One gate job for the check and its padding: a slot is held as long as any login's
      return await throughGate(gate, async function verifyPadded () {
        const { valid, spent } = await verifyStored(password, hash, work.measure(hash))
        // Raised only once the check ran: a hash that cannot be verified here (Argon2id without
        // @node-rs/argon2) fails its own login, never every later one
        if (spent !== null) work.raise(spent)
        await work.pad(spent)
        return valid
      })
    },

    async hash (password: string): Promise<string> {
      // Refused before taking a slot: there is no bcrypt work to queue for.
      if (bcrypt && exceedsBcryptLimit(password)) throw new PasswordTooLongError()
      return await throughGate(gate, function hashWithParameters () { return hashPassword(password, parameters) })
    },

    needsRehash (hash: string): boolean {
      return !meetsParameters(hash, parameters)
    }
  }
}
