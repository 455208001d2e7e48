import { Buffer } from 'node:buffer'
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt'
import { PasswordTooLongError } from '../errors.js'
import { isIntegerFromTo } from '../util/integer-range.js'

/**
 * bcrypt's input limit. The algorithm keys Blowfish with at most 72 bytes and
 * ignores the rest, so a longer password is refused instead of being silently
 * truncated (which would make every password sharing its first 72 bytes valid).
 */
export const BCRYPT_MAX_PASSWORD_BYTES = 72

/**
 * Whether `password` is longer than bcrypt reads ({@link BCRYPT_MAX_PASSWORD_BYTES}
 * UTF-8 bytes). The one place the limit is checked: hashing refuses such a
 * password, verifying answers false, logins refuse it before any lookup.
 */
export function exceedsBcryptLimit (password: string): boolean {
  return Buffer.byteLength(password, 'utf8') > BCRYPT_MAX_PASSWORD_BYTES
}

/** The work factor used when none is given: 2^12 rounds, a few hundred milliseconds per hash on one core. */
export const DEFAULT_BCRYPT_COST = 12

const MIN_BCRYPT_COST = 4
const MAX_BCRYPT_COST = 31

// Modular crypt format: `$2<variant>$<two-digit cost>$<22-char salt><31-char checksum>`
// in bcrypt's own base64 alphabet. `$2b$` is the current OpenBSD marker; `$2a$` and
// crypt_blowfish's `$2y$` compute the same function for inputs of at most 72 bytes.
// `$2x$` (crypt_blowfish's buggy sign-extension mode) is deliberately not accepted:
// verifying it as `$2b$` would give wrong answers for non-ASCII passwords.
const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/

/** Options of {@link hashPassword}. */
export interface HashPasswordOptions {
  /** bcrypt work factor (log2 of the rounds), an integer from 4 to 31. Default {@link DEFAULT_BCRYPT_COST}. */
  cost?: number
}

/**
 * Asserts that `cost` is a valid bcrypt work factor: an integer from 4 to 31.
 * Throws a `TypeError` (not a number) or `RangeError` (not an integer, or out
 * of range) whose message starts with `name`.
 *
 * @example
 * ```ts
 * assertBcryptCost(options.cost, 'bcrypt.cost') // throws RangeError for 3, 12.5 or 32
 * ```
 */
export function assertBcryptCost (cost: unknown, name = 'cost'): asserts cost is number {
  if (typeof cost !== 'number') {
    throw new TypeError(`${name} must be an integer from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}, got ${typeof cost}`)
  }
  if (!isIntegerFromTo(cost, MIN_BCRYPT_COST, MAX_BCRYPT_COST)) {
    throw new RangeError(`${name} must be an integer from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}, got ${cost}`)
  }
}

/** The work factor of a bcrypt hash {@link isBcryptHash} accepts, else `undefined`. */
export function bcryptHashCost (hash: unknown): number | undefined {
  if (typeof hash !== 'string') return undefined
  const match = BCRYPT_HASH.exec(hash)
  if (match === null) return undefined
  const cost = Number(match[1])
  return cost >= MIN_BCRYPT_COST && cost <= MAX_BCRYPT_COST ? cost : undefined
}

/**
 * Tells whether `value` is a bcrypt hash this module can verify: `$2a$`, `$2b$`
 * or `$2y$`, a cost from 04 to 31, and a well-formed salt and checksum.
 *
 * @example
 * ```ts
 * isBcryptHash('$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW') // true
 * isBcryptHash('$argon2id$v=19$...') // false
 * ```
 */
export function isBcryptHash (value: unknown): value is string {
  return bcryptHashCost(value) !== undefined
}

/**
 * Hashes a password with bcrypt (`$2b$`, random salt). The work runs on the
 * libuv threadpool, never on the event loop.
 *
 * Rejects with `PasswordTooLongError` (`FST_OAUTH2_PASSWORD_TOO_LONG`) when the
 * password is longer than {@link BCRYPT_MAX_PASSWORD_BYTES} UTF-8 bytes, with a
 * `TypeError` when it is not a string, and with a `TypeError`/`RangeError`
 * naming `cost` when the cost is not an integer from 4 to 31.
 *
 * @example
 * ```ts
 * const passwordHash = await hashPassword('correct horse battery staple')
 * await db.saveUser({ username, passwordHash })
 * ```
 */
export async function hashPassword (password: string, options: HashPasswordOptions = {}): Promise<string> {
  const cost = options.cost ?? DEFAULT_BCRYPT_COST
  assertBcryptCost(cost)
  if (typeof password !== 'string') {
    throw new TypeError(`password must be a string, got ${typeof password}`)
  }
  if (exceedsBcryptLimit(password)) throw new PasswordTooLongError()
  return await bcryptHash(password, cost)
}

/**
 * Checks a password against a bcrypt hash (`$2a$`, `$2b$` or `$2y$`), off the
 * event loop. Resolves `false`, never rejects, for a mismatch, a malformed or
 * unsupported hash, a non-string argument, or a password longer than
 * {@link BCRYPT_MAX_PASSWORD_BYTES} UTF-8 bytes: {@link hashPassword} refuses
 * such passwords, so no hash it made can match one, and comparing only their
 * first 72 bytes would accept any suffix.
 *
 * @example
 * ```ts
 * if (!await verifyPassword(form.password, user.passwordHash)) throw new InvalidGrantError('Incorrect username or password')
 * ```
 */
export async function verifyPassword (password: string, hash: string): Promise<boolean> {
  if (typeof password !== 'string' || exceedsBcryptLimit(password)) return false
  if (!isBcryptHash(hash)) return false
  try {
    return await bcryptVerify(password, hash)
  } catch {
    // The format was checked above, so this is an internal failure of the binding:
    // failing closed keeps the "false, never a throw" contract callers rely on.
    return false
  }
}

/**
 * Tells whether a stored hash should be replaced on the user's next successful
 * login: its cost is lower than `cost`, or it is not a bcrypt hash this module
 * recognises (see {@link isBcryptHash}). Throws a `TypeError`/`RangeError`
 * naming `cost` when `cost` is not an integer from 4 to 31.
 *
 * @example
 * ```ts
 * if (await verifyPassword(password, user.passwordHash) && needsRehash(user.passwordHash, 12)) {
 *   await db.updatePasswordHash(user.id, await hashPassword(password, { cost: 12 }))
 * }
 * ```
 */
export function needsRehash (hash: string, cost: number): boolean {
  assertBcryptCost(cost)
  const current = bcryptHashCost(hash)
  return current === undefined || current < cost
}
