import t, { type Test } from 'tap'
import { performance } from 'node:perf_hooks'
import { buildApp, PASSWORD, postForm } from '../helpers/build-app.js'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { hashPassword, type PasswordHashingOptions } from '../../lib/passwords/password-hashing.js'

// Issue 8 §5 (ASVS 5.0 V6.3.8): an unknown user, a wrong password and a disabled
// account cost the same, whatever the stored hashes' parameters against the
// configured ones. A behaviour test, not a benchmark: medians of 15 tries per case,
// and a tolerance a loaded 2-core machine keeps (before padding, the cases differed
// about 30 to 60 times at bcrypt costs 4 and 10).

const TRIES = 15
const TOLERANCE = 2

type Case = 'unknown user' | 'wrong password' | 'disabled account'
const CASES: Record<Case, { username: string, password: string }> = {
  'unknown user': { username: 'nobody', password: PASSWORD },
  'wrong password': { username: 'johndoe', password: 'wrong' },
  'disabled account': { username: 'alice', password: PASSWORD }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function medians (stored: PasswordHashingOptions, served: Partial<OAuth2PasswordOptions>): Promise<Record<Case, number>> {
  const passwordHash = await hashPassword(PASSWORD, stored)
  const { app, users } = await buildApp({ bcrypt: undefined, throttling: false, ...served })
  try {
    for (const id of ['johndoe', 'alice']) users.set(id, { ...users.get(id)!, passwordHash })
    const times: Record<Case, number[]> = { 'unknown user': [], 'wrong password': [], 'disabled account': [] }
    // One untimed round: the plugin learns the stored hashes' cost as a login meets them
    for (const form of Object.values(CASES)) await postForm(app, form)
    for (let round = 0; round < TRIES; round++) {
      for (const [name, form] of Object.entries(CASES) as Array<[Case, typeof CASES[Case]]>) {
        const started = performance.now()
        const response = await postForm(app, form)
        times[name].push(performance.now() - started)
        if (response.statusCode !== 400) throw new Error(`${name}: ${response.statusCode}`)
      }
    }
    return { 'unknown user': median(times['unknown user']), 'wrong password': median(times['wrong password']), 'disabled account': median(times['disabled account']) }
  } finally {
    await app.close()
  }
}

function assertFlat (t: Test, found: Record<Case, number>): void {
  const values = Object.values(found)
  const ratio = Math.max(...values) / Math.min(...values)
  const shown = Object.entries(found).map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(', ')
  t.ok(ratio < TOLERANCE, `medians within ×${TOLERANCE} (×${ratio.toFixed(2)}): ${shown}`)
}

t.setTimeout(120_000)

t.test('seeded at bcrypt cost 4, served at 10', async (t) => {
  assertFlat(t, await medians({ cost: 4 }, { bcrypt: { cost: 10 } }))
})

t.test('seeded at bcrypt cost 10, served at 4', async (t) => {
  assertFlat(t, await medians({ cost: 10 }, { passwordHashing: { algorithm: 'bcrypt', cost: 4 } }))
})

t.test('mixed: seeded with bcrypt cost 10, served with Argon2id', async (t) => {
  assertFlat(t, await medians({ cost: 10 }, { passwordHashing: { algorithm: 'argon2id', memoryCost: 8192, timeCost: 1 } }))
})

t.test('mixed: seeded with Argon2id, served with bcrypt cost 4', async (t) => {
  assertFlat(t, await medians({ algorithm: 'argon2id', memoryCost: 16_384, timeCost: 2 }, { passwordHashing: { algorithm: 'bcrypt', cost: 4 } }))
})
