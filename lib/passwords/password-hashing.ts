import { Buffer } from 'node:buffer'
import {
  assertBcryptCost,
  bcryptHashCost,
  DEFAULT_BCRYPT_COST,
  hashPassword as bcryptHashPassword,
  verifyPassword as bcryptVerifyPassword
} from './bcrypt.js'
import { argon2Hash, argon2Parameters, argon2Verify, assertArgon2Parameters, DEFAULT_ARGON2_PARAMETERS, type Argon2Parameters } from './argon2.js'

/** The algorithms new hashes can use; either is verified whatever is configured. */
export type PasswordHashingAlgorithm = 'bcrypt' | 'argon2id'

/** The algorithms new hashes can use, in a `Set`, for validators. */
export const PASSWORD_HASHING_ALGORITHMS: ReadonlySet<string> = new Set<PasswordHashingAlgorithm>(['bcrypt', 'argon2id'])

/** bcrypt (the default): `cost` is the work factor, log2 of the rounds, 4 to 31, default 12. */
export interface BcryptHashingOptions {
  algorithm?: 'bcrypt'
  cost?: number
}

/**
 * Argon2id (RFC 9106) through the optional peer `@node-rs/argon2`. Defaults from the
 * OWASP Password Storage Cheat Sheet: `memoryCost` 19456 KiB (19 MiB), `timeCost` 2,
 * `parallelism` 1.
 */
export interface Argon2idHashingOptions {
  algorithm: 'argon2id'
  /** Memory per hash in KiB, at least `8 * parallelism`. Default 19456. */
  memoryCost?: number
  /** Passes over the memory, at least 1. Default 2. */
  timeCost?: number
  /** Lanes, 1 to 255. Default 1. */
  parallelism?: number
}

/** How new hashes are made: `{ algorithm: 'bcrypt', cost }` or `{ algorithm: 'argon2id', memoryCost, timeCost, parallelism }`. */
export type PasswordHashingOptions = BcryptHashingOptions | Argon2idHashingOptions

/** {@link PasswordHashingOptions} with every default applied. */
export type HashingParameters =
  | { readonly algorithm: 'bcrypt', readonly cost: number }
  | ({ readonly algorithm: 'argon2id' } & Argon2Parameters)

/**
 * Whether `password` is longer than `maxBytes` UTF-8 bytes (a hasher's
 * `maxPasswordBytes`: 72 for bcrypt, `null` for no limit).
 */
export function exceedsPasswordLimit (password: string, maxBytes: number | null): boolean {
  return maxBytes !== null && Buffer.byteLength(password, 'utf8') > maxBytes
}

/**
 * Applies the defaults to `options` and checks them. A number is a bcrypt cost
 * (the form `needsRehash(hash, 12)` takes). Throws a `TypeError` for an unknown
 * `algorithm`, and a `TypeError`/`RangeError` whose message starts with the
 * field (`cost`, `memoryCost`, `timeCost`, `parallelism`) for a bad parameter.
 */
export function hashingParameters (options: PasswordHashingOptions | number = {}): HashingParameters {
  if (typeof options === 'number') options = { cost: options }
  const algorithm: unknown = options.algorithm ?? 'bcrypt'
  if (algorithm === 'bcrypt') {
    const { cost = DEFAULT_BCRYPT_COST } = options as BcryptHashingOptions
    assertBcryptCost(cost)
    return Object.freeze({ algorithm, cost })
  }
  if (algorithm !== 'argon2id') throw new TypeError(`algorithm must be "bcrypt" or "argon2id", got ${JSON.stringify(algorithm)}`)
  const parameters = { ...DEFAULT_ARGON2_PARAMETERS, ...withoutUndefined(options as Argon2idHashingOptions) }
  assertArgon2Parameters(parameters)
  const { memoryCost, timeCost, parallelism } = parameters
  return Object.freeze({ algorithm, memoryCost, timeCost, parallelism })
}

function withoutUndefined (options: Argon2idHashingOptions): Partial<Argon2Parameters> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
}

/**
 * Hashes a password for storage: bcrypt (`$2b$`, cost 12) by default, or Argon2id
 * (`$argon2id$v=19$…`, OWASP parameters) with `{ algorithm: 'argon2id' }`. Random
 * salt; the work runs off the event loop.
 *
 * Rejects with `PasswordTooLongError` (`FST_OAUTH2_PASSWORD_TOO_LONG`) for a bcrypt
 * password longer than 72 UTF-8 bytes (Argon2id has no such limit), a `TypeError`
 * when the password is not a string, a `TypeError`/`RangeError` naming a bad
 * option (see {@link hashingParameters}), and `Argon2UnavailableError`
 * (`FST_OAUTH2_ARGON2_UNAVAILABLE`) for Argon2id without `@node-rs/argon2` installed.
 *
 * @example
 * ```ts
 * const passwordHash = await hashPassword(password, { algorithm: 'argon2id' })
 * ```
 */
export async function hashPassword (password: string, options: PasswordHashingOptions = {}): Promise<string> {
  const parameters = hashingParameters(options)
  if (parameters.algorithm === 'bcrypt') return await bcryptHashPassword(password, { cost: parameters.cost })
  if (typeof password !== 'string') throw new TypeError(`password must be a string, got ${typeof password}`)
  return await argon2Hash(password, parameters)
}

/**
 * Checks a password against a stored bcrypt (`$2a$`, `$2b$`, `$2y$`) or Argon2id
 * (`$argon2id$v=19$`) hash, off the event loop. Resolves `false`, never rejects,
 * for a mismatch, a malformed or unsupported hash or a non-string argument, and
 * for a bcrypt hash with a password over 72 bytes (bcrypt would read only its
 * start). Rejects with `Argon2UnavailableError` for an Argon2id hash when
 * `@node-rs/argon2` is not installed: a misconfiguration, not a wrong password.
 */
export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  if (typeof password !== 'string') return false
  if (argon2Parameters(hash) !== undefined) return await argon2Verify(password, hash)
  return await bcryptVerifyPassword(password, hash)
}

/**
 * Whether `hash` meets `parameters`: the same algorithm, and no less work (bcrypt
 * `cost`; Argon2id `memoryCost * timeCost`, with less memory made up by more
 * passes, as in OWASP's equivalent configurations: m=47104,t=1 meets m=19456,t=2).
 */
export function meetsParameters (hash: string, parameters: HashingParameters): boolean {
  if (parameters.algorithm === 'bcrypt') {
    const cost = bcryptHashCost(hash)
    return cost !== undefined && cost >= parameters.cost
  }
  const stored = argon2Parameters(hash)
  return stored !== undefined && stored.memoryCost * stored.timeCost >= parameters.memoryCost * parameters.timeCost
}

/**
 * Tells whether a stored hash should be replaced on the user's next successful
 * login: it uses another algorithm than `target`, weaker parameters (a lower
 * bcrypt cost; less Argon2id work `m * t`), or is not a hash this
 * module recognises. `target` is a bcrypt cost (`12`) or
 * {@link PasswordHashingOptions} (default bcrypt, cost 12). Throws like
 * {@link hashingParameters} for a bad `target`.
 *
 * @example
 * ```ts
 * needsRehash(user.passwordHash, { algorithm: 'argon2id' }) // true for any bcrypt hash
 * needsRehash(user.passwordHash, 12) // true for a bcrypt hash of cost 10
 * ```
 */
export function needsRehash (hash: string, target: PasswordHashingOptions | number = {}): boolean {
  return !meetsParameters(hash, hashingParameters(target))
}
