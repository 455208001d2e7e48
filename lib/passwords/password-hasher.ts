import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { ConcurrencyGate, GateFullError } from '../util/concurrency-gate.js'
import { type OAuth2Error, PasswordTooLongError, TemporarilyUnavailableError, withRefusalHeaders } from '../errors.js'
import {
  assertBcryptCost,
  DEFAULT_BCRYPT_COST,
  exceedsBcryptLimit,
  hashPassword,
  isBcryptHash,
  needsRehash,
  verifyPassword
} from './bcrypt.js'

/** Options of {@link createPasswordHasher}. */
export interface PasswordHasherOptions {
  /** bcrypt work factor for new hashes, the dummy hash and {@link PasswordHasher.needsRehash}. Default 12. */
  cost?: number
  /**
   * bcrypt jobs running at once. Default: one less than the cores
   * (`os.availableParallelism()`) and than the libuv threadpool size
   * (`UV_THREADPOOL_SIZE`, 4 unless set), at least 1.
   */
  maxConcurrent?: number
  /** bcrypt jobs allowed to wait for a slot; beyond it logins are refused at once. Default `32 * maxConcurrent`. */
  maxQueue?: number
}

/** Password hashing and checking for the token endpoint, bounded and timing-safe. */
export interface PasswordHasher {
  /** The configured bcrypt cost. */
  readonly cost: number
  /** bcrypt jobs allowed to run at once. */
  readonly maxConcurrent: number
  /** bcrypt jobs allowed to wait. */
  readonly maxQueue: number
  /** bcrypt jobs running now. */
  readonly running: number
  /** bcrypt jobs waiting now. */
  readonly queued: number
  /**
   * Checks a login. With `hash` null (unknown user) or unusable, still runs one
   * bcrypt verify against a dummy hash of the configured cost, then resolves
   * false, so timing does not tell unknown users from wrong passwords. Rejects
   * with `TemporarilyUnavailableError` (503, `headers['retry-after']`) when the
   * gate is full.
   */
  verify: (password: string, hash: string | null) => Promise<boolean>
  /** Hashes with the configured cost through the gate; same refusals as `verify`, plus `PasswordTooLongError`. */
  hash: (password: string) => Promise<string>
  /** True when `hash` uses a lower cost than the configured one or is not a recognised bcrypt hash. */
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

/**
 * Creates the hasher the token endpoint uses: bcrypt off the event loop,
 * bounded by a {@link ConcurrencyGate}, with the same work for unknown users as
 * for known ones. Throws a `TypeError`/`RangeError` naming the bad option.
 *
 * @example
 * ```ts
 * const hasher = createPasswordHasher({ cost: 12 })
 * const user = await users.findByUsername(username)
 * if (!await hasher.verify(password, user?.passwordHash ?? null)) throw new InvalidGrantError('Incorrect username or password')
 * if (hasher.needsRehash(user.passwordHash)) await onRehash(user, await hasher.hash(password))
 * ```
 */
export function createPasswordHasher (options: PasswordHasherOptions = {}): PasswordHasher {
  const cost = options.cost ?? DEFAULT_BCRYPT_COST
  assertBcryptCost(cost)
  const maxConcurrent = options.maxConcurrent ?? defaultMaxConcurrent()
  const maxQueue = options.maxQueue ?? QUEUE_PER_SLOT * maxConcurrent
  const gate = new ConcurrencyGate({ maxConcurrent, maxQueue })

  // Made once, on the first unknown-user login, and shared by concurrent ones.
  // Its password is random and thrown away, so nothing can match it.
  let dummyHash: Promise<string> | undefined
  function getDummyHash (): Promise<string> {
    dummyHash ??= hashPassword(randomBytes(32).toString('base64'), { cost }).catch(function retryLater (err: unknown) {
      dummyHash = undefined
      throw err
    })
    return dummyHash
  }

  return {
    cost,
    maxConcurrent,
    maxQueue,
    get running () { return gate.running },
    get queued () { return gate.queued },

    assertCapacity (): void {
      if (gate.full) throw unavailable(gate.retryAfterSeconds())
    },

    async verify (password: string, hash: string | null): Promise<boolean> {
      if (isBcryptHash(hash)) {
        return await throughGate(gate, function verifyKnownUser () { return verifyPassword(password, hash) })
      }
      // An unknown user (or an unusable stored hash) costs one full bcrypt verify,
      // like a known one, so response time does not reveal who exists.
      return await throughGate(gate, async function verifyUnknownUser () {
        await verifyPassword(password, await getDummyHash())
        return false
      })
    },

    async hash (password: string): Promise<string> {
      // Refused before taking a slot: there is no bcrypt work to queue for.
      if (exceedsBcryptLimit(password)) throw new PasswordTooLongError()
      return await throughGate(gate, function hashWithCost () { return hashPassword(password, { cost }) })
    },

    needsRehash (hash: string): boolean {
      return needsRehash(hash, cost)
    }
  }
}
