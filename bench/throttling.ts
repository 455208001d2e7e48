import { performance } from 'node:perf_hooks'
import Fastify, { type FastifyInstance } from 'fastify'
import oauth2Password, { hashPassword, memoryTokenStore, type OAuth2PasswordOptions } from '../lib/index.js'
import { createLoginThrottle, type ThrottlingSettings } from '../lib/protection/login-throttle.js'
import { resolveOptions } from '../lib/options.js'

// `npm run bench:throttling`: what login throttling allows and what it costs.
// 1. From one address: 30 wrong passwords on one account; 200 usernames with one password.
// 2. A simulation with a fake clock: 10,000 usernames, 20 addresses, one hour, attackers
//    that retry the moment Retry-After allows (password spraying, and all 20 on one account).
// 3. A normal login, throttling on vs off, in the same run (interleaved rounds, medians).
//
// Environment: BENCH_LOGINS (logins per round, default 40), BENCH_ROUNDS (default 5),
// BCRYPT_COST (default 12).

const SECRET = 'bench-secret-of-at-least-32-bytes-long!!'
const PASSWORD = 'secret'
const cost = Number(process.env.BCRYPT_COST ?? 12)
const hash = await hashPassword(PASSWORD, { cost })

async function app (options: Partial<OAuth2PasswordOptions>): Promise<FastifyInstance> {
  const instance = Fastify()
  await instance.register(oauth2Password, {
    secret: SECRET,
    bcrypt: { cost },
    users: {
      findByUsername: (username) => username === 'johndoe' ? { id: 'johndoe', passwordHash: hash } : null,
      // The password grant never resolves the user
      findById: () => null
    },
    ...options
  })
  await instance.ready()
  return instance
}

function attempt (instance: FastifyInstance, username: string, password: string) {
  return instance.inject({ method: 'POST', url: '/token', remoteAddress: '198.51.100.7', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=${encodeURIComponent(username)}&password=${password}` })
}

async function firstRefused (instance: FastifyInstance, tries: number, username: (i: number) => string): Promise<number | null> {
  for (let i = 1; i <= tries; i++) if ((await attempt(instance, username(i), 'wrong')).statusCode === 429) return i
  return null
}

interface SimulationResult { attempts: number, perAccountMax: number, perAddressMax: number, perAddressMin: number, accountsGuessed: number }

/** Attackers send their next guess the moment the throttle lets them (a guess itself takes 100 ms). */
async function simulate (settings: ThrottlingSettings, usernames: number, addresses: number, seconds: number, pickUsername: (address: number, guess: number) => number): Promise<SimulationResult> {
  const clock = { now: Date.UTC(2026, 0, 1) }
  const end = clock.now + seconds * 1000
  const throttle = createLoginThrottle(memoryTokenStore({ maxEntries: 1_000_000 }), { ...settings, now: () => clock.now }, Fastify().log)
  const nextAt = Array.from({ length: addresses }, () => clock.now)
  const perAddress = Array<number>(addresses).fill(0)
  const perAccount = new Map<number, number>()
  let attempts = 0
  for (;;) {
    const address = nextAt.indexOf(Math.min(...nextAt))
    clock.now = nextAt[address] as number
    if (clock.now >= end) break
    const ip = `203.0.113.${address + 1}`
    const account = pickUsername(address, perAddress[address] as number) % usernames
    attempts++
    const refusal = await throttle.check(`user${account}`, ip)
    if (refusal !== null) {
      nextAt[address] = clock.now + refusal.retryAfterSeconds * 1000
      continue
    }
    await throttle.recordFailure(`user${account}`, ip)
    perAddress[address] = (perAddress[address] as number) + 1
    perAccount.set(account, (perAccount.get(account) ?? 0) + 1)
    nextAt[address] = clock.now + 100
  }
  return { attempts, perAccountMax: Math.max(...perAccount.values()), perAddressMax: Math.max(...perAddress), perAddressMin: Math.min(...perAddress), accountsGuessed: perAccount.size }
}

async function timeLogins (instance: FastifyInstance, logins: number): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < logins; i++) {
    const response = await attempt(instance, 'johndoe', PASSWORD)
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode} ${response.body}`)
  }
  return (performance.now() - started) / logins
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

const lines: string[] = []
const clock = { now: Date.UTC(2026, 0, 1) }
const measured = await app({ throttling: { now: () => clock.now } })
lines.push(`| 30 wrong passwords on one account, one address | first 429 at attempt ${await firstRefused(measured, 30, () => 'johndoe')} |`)
await measured.close()
const stuffing = await app({ throttling: { now: () => clock.now } })
lines.push(`| 200 usernames × one password, one address | first 429 at attempt ${await firstRefused(stuffing, 200, (i) => `user${i}`)} |`)
await stuffing.close()

const settings = resolveOptions({ secret: SECRET, users: { findByUsername: () => null, findById: () => null } }).throttling
const spray = await simulate(settings, 10_000, 20, 3600, (address, guess) => address * 500 + guess)
lines.push(`| simulation, spraying: 10,000 usernames, 20 addresses, 1 h | ${spray.attempts} requests; guesses checked per address ${spray.perAddressMin}–${spray.perAddressMax}; ${spray.accountsGuessed} accounts guessed, at most ${spray.perAccountMax} guess(es) each |`)
const targeted = await simulate(settings, 10_000, 20, 3600, () => 42)
lines.push(`| simulation, targeted: all 20 addresses on one account, 1 h | ${targeted.attempts} requests; guesses checked per address ${targeted.perAddressMin}–${targeted.perAddressMax}; ${targeted.perAccountMax} guesses on the account |`)

const logins = Number(process.env.BENCH_LOGINS ?? 40)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const on = await app({})
const off = await app({ throttling: false })
await timeLogins(on, 5)
await timeLogins(off, 5)
const ratios: number[] = []
const onTimes: number[] = []
const offTimes: number[] = []
for (let round = 0; round < rounds; round++) {
  const a = await timeLogins(on, logins)
  const b = await timeLogins(off, logins)
  onTimes.push(a)
  offTimes.push(b)
  ratios.push(a / b)
}
await on.close()
await off.close()
lines.push(`| normal login, bcrypt cost ${cost}, throttling on vs off (same run, ${rounds} interleaved rounds of ${logins}) | ${median(onTimes).toFixed(2)} ms vs ${median(offTimes).toFixed(2)} ms per login; ratio ${median(ratios).toFixed(3)} |`)

process.stdout.write(['| measurement | result |', '|---|---|', ...lines].join('\n') + '\n')
