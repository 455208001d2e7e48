import { randomBytes } from 'node:crypto'
import { argon2Hash, argon2Parameters, DEFAULT_ARGON2_PARAMETERS } from './argon2.js'
import { bcryptHashCost, DEFAULT_BCRYPT_COST, hashPassword as bcryptHashPassword } from './bcrypt.js'
import type { HashingParameters } from './password-hashing.js'

/**
 * Work one password check has spent in one algorithm: bcrypt in its cost (the
 * work is 2^cost rounds), Argon2id in KiB-passes (`memoryCost * timeCost`).
 */
export interface SpentWork {
  readonly algorithm: 'bcrypt' | 'argon2id'
  readonly level: number
}

/**
 * Evens out the work of password checks, so that an unknown user, a wrong
 * password and a disabled account cost the same whatever the stored hashes'
 * parameters (ASVS 5.0 V6.3.8). Every check is padded to one target per
 * algorithm: the configured parameters, raised to the strongest stored hash
 * verified so far, up to 64 times the configured work (bcrypt cost + 6). A
 * stronger hash still verifies, without raising the target, so one legacy
 * hash cannot slow every login without bound. Padding is throwaway hashing of
 * a random password, which costs what a verification at the same parameters costs.
 */
export interface LoginWork {
  /** The work a stored hash costs to verify, or `null` when it is unusable. */
  measure: (hash: string | null) => SpentWork | null
  /** Raises its algorithm's target to `spent`, up to the cap: call it once a check has run. */
  raise: (spent: SpentWork) => void
  /** Spends what is left of every target after `spent` (`null`: nothing verified yet). */
  pad: (spent: SpentWork | null) => Promise<void>
}

// How far a verified stored hash may raise a target: 2^6 = 64 times the configured work
const MAX_BCRYPT_RAISE = 6
const MAX_ARGON2_RAISE = 64

// Long enough to need a full computation, short enough for bcrypt's 72 bytes
function throwawayPassword (): string {
  return randomBytes(32).toString('base64')
}

// 2^target - 2^from = 2^from + 2^(from+1) + … + 2^(target-1): one hash per cost in between
async function padBcrypt (from: number | null, target: number): Promise<void> {
  if (from === null) {
    await bcryptHashPassword(throwawayPassword(), { cost: target })
    return
  }
  for (let cost = from; cost < target; cost++) await bcryptHashPassword(throwawayPassword(), { cost })
}

// Argon2 work grows with m * t: the remainder as passes over at most the reference memory
async function padArgon2 (work: number, referenceMemory: number): Promise<void> {
  // Below Argon2's smallest memory (8 KiB) the remainder is lost in the noise
  if (work < 8) return
  const timeCost = Math.ceil(work / referenceMemory)
  const memoryCost = Math.max(8, Math.round(work / timeCost))
  await argon2Hash(throwawayPassword(), { memoryCost, timeCost, parallelism: 1 })
}

/** The padding of {@link LoginWork}, starting from the configured `parameters`. */
export function createLoginWork (parameters: HashingParameters): LoginWork {
  const bcryptCost = parameters.algorithm === 'bcrypt' ? parameters.cost : DEFAULT_BCRYPT_COST
  const argon2 = parameters.algorithm === 'argon2id' ? parameters : DEFAULT_ARGON2_PARAMETERS
  // Targets: 0 is "no work in this algorithm" until a hash of it is verified
  let bcryptTarget = parameters.algorithm === 'bcrypt' ? parameters.cost : 0
  let argon2Target = parameters.algorithm === 'argon2id' ? parameters.memoryCost * parameters.timeCost : 0

  return {
    measure (hash) {
      const cost = bcryptHashCost(hash)
      if (cost !== undefined) return { algorithm: 'bcrypt', level: cost }
      const stored = argon2Parameters(hash)
      return stored === undefined ? null : { algorithm: 'argon2id', level: stored.memoryCost * stored.timeCost }
    },
    raise (spent) {
      if (spent.algorithm === 'bcrypt') {
        bcryptTarget = Math.max(bcryptTarget, Math.min(spent.level, bcryptCost + MAX_BCRYPT_RAISE))
      } else {
        argon2Target = Math.max(argon2Target, Math.min(spent.level, argon2.memoryCost * argon2.timeCost * MAX_ARGON2_RAISE))
      }
    },
    async pad (spent) {
      if (bcryptTarget > 0) await padBcrypt(spent?.algorithm === 'bcrypt' ? spent.level : null, bcryptTarget)
      const argon2Spent = spent?.algorithm === 'argon2id' ? spent.level : 0
      // Padding passes over the configured memory: a stored hash's memory never sizes an allocation
      if (argon2Target > 0) await padArgon2(argon2Target - argon2Spent, argon2.memoryCost)
    }
  }
}
