import { Argon2UnavailableError } from '../errors.js'
import { isIntegerFromTo } from '../util/integer-range.js'

/** Argon2id cost parameters, as the PHC string's `m`, `t` and `p`. */
export interface Argon2Parameters {
  /** Memory per hash, in KiB (`m`): an integer from `8 * parallelism` to 2^32 - 1. */
  readonly memoryCost: number
  /** Passes over the memory (`t`): an integer from 1 to 2^32 - 1. */
  readonly timeCost: number
  /** Lanes (`p`): an integer from 1 to 255. */
  readonly parallelism: number
}

/**
 * OWASP Password Storage Cheat Sheet, Argon2id: "a minimum configuration of 19 MiB
 * of memory, an iteration count of 2, and 1 degree of parallelism".
 */
export const DEFAULT_ARGON2_PARAMETERS: Argon2Parameters = Object.freeze({ memoryCost: 19_456, timeCost: 2, parallelism: 1 })

// RFC 9106 §3.1: p from 1 to 2^24 - 1 (the binding takes 1 to 255), t and m up to
// 2^32 - 1, m at least 8 * p KiB
const MAX_U32 = 2 ** 32 - 1
const MAX_PARALLELISM = 255

// PHC string as the reference implementation writes it (RFC 9106 has none of its own):
// `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>`, salt and tag in
// unpadded standard base64; a salt of 8 to 64 bytes, a tag of 16 to 64.
const ARGON2ID_HASH = /^\$argon2id\$v=19\$m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,3})\$[A-Za-z0-9+/]{11,86}\$[A-Za-z0-9+/]{22,86}$/

/** The part of `@node-rs/argon2` this module uses (its `Algorithm.Argon2id` is 2). */
interface Argon2Binding {
  hash: (password: string, options: { memoryCost: number, timeCost: number, parallelism: number, algorithm: 2 }) => Promise<string>
  verify: (hashed: string, password: string) => Promise<boolean>
}

function outOfRange (value: unknown, min: number, max: number): string | null {
  if (isIntegerFromTo(value, min, max)) return null
  return `must be an integer from ${min} to ${max}`
}

/**
 * What is wrong with Argon2id `parameters`: `[field, 'must be …']` for the first
 * bad one, or `null` when they are usable. The plugin's options and
 * {@link assertArgon2Parameters} share it.
 */
export function argon2ParametersProblem (parameters: Readonly<Record<keyof Argon2Parameters, unknown>>): [keyof Argon2Parameters, string] | null {
  const { memoryCost, timeCost, parallelism } = parameters
  const lanes = outOfRange(parallelism, 1, MAX_PARALLELISM)
  if (lanes !== null) return ['parallelism', lanes]
  const passes = outOfRange(timeCost, 1, MAX_U32)
  if (passes !== null) return ['timeCost', passes]
  const memory = outOfRange(memoryCost, 8 * (parallelism as number), MAX_U32)
  return memory === null ? null : ['memoryCost', memory]
}

/**
 * Asserts usable Argon2id parameters. Throws a `RangeError` whose message starts
 * with the field (`memoryCost`, `timeCost`, `parallelism`) and gives its bounds.
 */
export function assertArgon2Parameters (parameters: Readonly<Record<keyof Argon2Parameters, unknown>>): asserts parameters is Argon2Parameters {
  const problem = argon2ParametersProblem(parameters)
  if (problem === null) return
  const [field, message] = problem
  throw new RangeError(`${field} ${message}, got ${String(parameters[field])}`)
}

/**
 * The parameters of an Argon2id (version 19) PHC string, or `undefined` when
 * `hash` is not one this module can verify.
 *
 * @example
 * ```ts
 * argon2Parameters('$argon2id$v=19$m=19456,t=2,p=1$…$…') // { memoryCost: 19456, timeCost: 2, parallelism: 1 }
 * ```
 */
export function argon2Parameters (hash: unknown): Argon2Parameters | undefined {
  if (typeof hash !== 'string') return undefined
  const match = ARGON2ID_HASH.exec(hash)
  if (match === null) return undefined
  const parameters = { memoryCost: Number(match[1]), timeCost: Number(match[2]), parallelism: Number(match[3]) }
  return argon2ParametersProblem(parameters) === null ? parameters : undefined
}

/** Whether `value` is an Argon2id (version 19) hash this module can verify. */
export function isArgon2idHash (value: unknown): value is string {
  return argon2Parameters(value) !== undefined
}

let binding: Promise<Argon2Binding> | undefined

/**
 * Loads `@node-rs/argon2` once, on first need: only apps that use Argon2id install it.
 * Rejects with `Argon2UnavailableError` (`FST_OAUTH2_ARGON2_UNAVAILABLE`) when it
 * cannot be loaded; the next call tries again.
 */
export async function loadArgon2 (): Promise<Argon2Binding> {
  binding ??= import('@node-rs/argon2').then(
    (module) => module as unknown as Argon2Binding,
    function unavailable (err: unknown) {
      binding = undefined
      const code = (err as { code?: unknown }).code
      throw new Argon2UnavailableError(typeof code === 'string' ? code : 'it failed to load', { cause: err })
    })
  return await binding
}

/** Hashes with Argon2id at `parameters` (random 16-byte salt, 32-byte tag), off the event loop. */
export async function argon2Hash (password: string, parameters: Argon2Parameters): Promise<string> {
  const { memoryCost, timeCost, parallelism } = parameters
  return await (await loadArgon2()).hash(password, { memoryCost, timeCost, parallelism, algorithm: 2 })
}

/**
 * Checks `password` against an Argon2id hash, off the event loop: false for a
 * mismatch or an internal failure of the binding, never a throw, except
 * `Argon2UnavailableError` when `@node-rs/argon2` is not installed.
 */
export async function argon2Verify (password: string, hash: string): Promise<boolean> {
  const argon2 = await loadArgon2()
  try {
    return await argon2.verify(hash, password)
  } catch {
    // The format was checked by the caller: fail closed, as bcrypt's verify does
    return false
  }
}
