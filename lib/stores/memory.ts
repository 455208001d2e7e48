import { InvalidOptionError, TokenStoreFullError } from '../errors.js'
import { isIntegerFromTo } from '../util/integer-range.js'
import {
  type AccessTokenQuery,
  type AccessTokenStatus,
  type NewRefreshTokenFamily,
  type RefreshTokenFamily,
  type RotationOutcome,
  type RotationRequest,
  type TokenStore,
  type LoginFailureCount,
  type LoginFailureCounts,
  type LoginFailureKeys,
  type LoginFailureStore,
  NO_LOGIN_FAILURES
} from './token-store.js'

/** Options of {@link memoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /**
   * Most entries kept (families and revocations together). Default 100 000.
   * When full, expired entries go first, then the least recently used family
   * (its user logs in again). Revocations are never forgotten early: when only
   * unexpired revocations remain, a new one fails (`FST_OAUTH2_TOKEN_STORE_FULL`, 503).
   */
  maxEntries?: number
}

/** The in-memory store, with its current entry count. */
export interface MemoryTokenStore extends TokenStore {
  /** Entries held now (families and revocations), expired ones not yet swept included. */
  readonly size: number
}

interface FamilyEntry {
  readonly family: RefreshTokenFamily
  current: string
  previous: string | null
  rotatedAt: number
  idleExpiresAt: number
  /** Seed of the current token while its rotation is unconfirmed, else `null`. */
  pendingSeed: string | null
}

interface NonceCounts {
  readonly until: number
  readonly seen: Set<number>
}

interface NotBefore {
  at: number
  until: number
}

const DEFAULT_MAX_ENTRIES = 100_000
// Expired entries are dropped at most this often (ms of caller time), and whenever the store is full
const SWEEP_INTERVAL = 60_000

function resolveMaxEntries (value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_ENTRIES
  if (!isIntegerFromTo(value, 1)) throw new InvalidOptionError('maxEntries', `must be a positive integer (got ${String(value)})`)
  return value
}

function isExpired (entry: FamilyEntry, now: number): boolean {
  return now >= entry.idleExpiresAt || now >= entry.family.expiresAt
}

// The token just replaced, while the answer of that rotation may never have reached the client
function isRetry (entry: FamilyEntry, request: RotationRequest): boolean {
  return entry.pendingSeed !== null && entry.previous === request.tokenHash && request.now < entry.rotatedAt + request.retryWindow
}

/**
 * A {@link TokenStore} in this process's memory: the default, for one instance.
 * Every method runs to completion without yielding, so rotation is atomic.
 * Memory is bounded by `maxEntries`; expired entries are swept.
 *
 * @example
 * await app.register(oauth2Password, { ..., refreshTokens: true, store: memoryTokenStore({ maxEntries: 10_000 }) })
 */
export function memoryTokenStore (options: MemoryTokenStoreOptions = {}): MemoryTokenStore {
  const maxEntries = resolveMaxEntries(options.maxEntries)
  // Map order is recency order for families: a use moves the family to the end
  const families = new Map<string, FamilyEntry>()
  const revokedFamilies = new Map<string, number>()
  const revokedJtis = new Map<string, number>()
  const notBefore = new Map<string, NotBefore>()
  const nonceCounts = new Map<string, NonceCounts>()
  const listeners = new Set<() => void>()
  let lastSweep = 0

  function size (): number {
    return families.size + revokedFamilies.size + revokedJtis.size + notBefore.size + nonceCounts.size
  }

  function sweep (now: number): void {
    lastSweep = now
    for (const [id, entry] of families) if (isExpired(entry, now)) families.delete(id)
    for (const [id, until] of revokedFamilies) if (until <= now) revokedFamilies.delete(id)
    for (const [jti, until] of revokedJtis) if (until <= now) revokedJtis.delete(jti)
    for (const [userId, entry] of notBefore) if (entry.until <= now) notBefore.delete(userId)
    for (const [nonce, entry] of nonceCounts) if (entry.until <= now) nonceCounts.delete(nonce)
  }

  // Makes room for one more entry, or throws before anything changed
  function makeRoom (now: number): void {
    if (now - lastSweep >= SWEEP_INTERVAL) sweep(now)
    if (size() < maxEntries) return
    sweep(now)
    if (size() < maxEntries) return
    const oldest = families.keys().next()
    if (oldest.done === true) throw new TokenStoreFullError(maxEntries)
    families.delete(oldest.value)
  }

  function remember (map: Map<string, number>, key: string, now: number, until: number): void {
    const known = map.get(key)
    if (known === undefined) {
      if (until <= now) return
      makeRoom(now)
      map.set(key, until)
    } else if (until > known) {
      map.set(key, until)
    }
  }

  function notify (): void {
    for (const listener of listeners) listener()
  }

  function liveFamily (familyId: string, now: number): FamilyEntry | undefined {
    const entry = families.get(familyId)
    if (entry === undefined || !isExpired(entry, now)) return entry
    families.delete(familyId)
    return undefined
  }

  function revokedByUser (family: RefreshTokenFamily, now: number): boolean {
    const entry = notBefore.get(family.userId)
    return entry !== undefined && entry.until > now && family.issuedAt < entry.at
  }

  function dropFamily (familyId: string, now: number, retainUntil: number): void {
    families.delete(familyId)
    remember(revokedFamilies, familyId, now, retainUntil)
    notify()
  }

  async function createFamily (family: NewRefreshTokenFamily): Promise<void> {
    const { tokenHash, idleExpiresAt, ...record } = family
    if (!families.has(record.id)) makeRoom(record.issuedAt)
    families.set(record.id, { family: Object.freeze(record), current: tokenHash, previous: null, rotatedAt: 0, idleExpiresAt, pendingSeed: null })
  }

  async function findFamily (familyId: string, now: number): Promise<RefreshTokenFamily | null> {
    return liveFamily(familyId, now)?.family ?? null
  }

  async function rotate (request: RotationRequest): Promise<RotationOutcome> {
    const { familyId, now } = request
    const entry = liveFamily(familyId, now)
    if (entry === undefined || entry.family.userId !== request.userId) return 'invalid'
    if (revokedByUser(entry.family, now)) {
      families.delete(familyId)
      return 'invalid'
    }
    // Plain comparisons: these are SHA-256 digests of 256-bit secrets, so timing reveals nothing usable
    if (entry.current === request.tokenHash) {
      entry.previous = entry.current
      entry.current = request.nextTokenHash
      entry.rotatedAt = now
      entry.idleExpiresAt = request.idleExpiresAt
      entry.pendingSeed = request.successorSeed
      families.delete(familyId)
      families.set(familyId, entry)
      return 'rotated'
    }
    if (isRetry(entry, request)) return { outcome: 'repeated', successorSeed: entry.pendingSeed as string }
    if (request.reuseGrace > 0 && entry.previous === request.tokenHash && now < entry.rotatedAt + request.reuseGrace) return 'superseded'
    // RFC 9700 §4.14.2: a token of a known family that is not its current one was used twice: end the family
    dropFamily(familyId, now, request.retainUntil)
    return 'reused'
  }

  async function confirmRotation (familyId: string, tokenHash: string): Promise<void> {
    const entry = families.get(familyId)
    if (entry?.current === tokenHash) entry.pendingSeed = null
  }

  async function revokeFamily (familyId: string, now: number, retainUntil: number): Promise<void> {
    dropFamily(familyId, now, retainUntil)
  }

  async function revokeAccessToken (jti: string, now: number, retainUntil: number): Promise<void> {
    remember(revokedJtis, jti, now, retainUntil)
    notify()
  }

  async function revokeUser (userId: string, at: number, now: number, retainUntil: number): Promise<void> {
    const known = notBefore.get(userId)
    if (known === undefined) {
      makeRoom(now)
      notBefore.set(userId, { at, until: retainUntil })
    } else {
      known.at = Math.max(known.at, at)
      known.until = Math.max(known.until, retainUntil)
    }
    notify()
  }

  async function accessTokenStatus (query: AccessTokenQuery): Promise<AccessTokenStatus> {
    const revoked = revokedJtis.has(query.jti) || (query.familyId !== undefined && revokedFamilies.has(query.familyId))
    return { revoked, notBefore: notBefore.get(query.userId)?.at ?? 0 }
  }

  async function useNonceCount (nonce: string, nonceCount: number, _issuedAt: number, expiresAt: number, now: number): Promise<boolean> {
    let entry = nonceCounts.get(nonce)
    if (entry === undefined || entry.until <= now) {
      makeRoom(now)
      entry = { until: expiresAt, seen: new Set() }
      nonceCounts.set(nonce, entry)
    }
    if (entry.seen.has(nonceCount)) return false
    entry.seen.add(nonceCount)
    return true
  }

  function onRevocation (listener: () => void): () => void {
    // A wrapper per registration, so the same function registered twice is removed once per call
    const registration = (): void => listener()
    listeners.add(registration)
    return function removeListener () {
      listeners.delete(registration)
    }
  }

  // Nothing to release; several apps may share one store, each removes its own listener
  async function close (): Promise<void> {}

  return {
    get size () { return size() },
    createFamily,
    findFamily,
    rotate,
    confirmRotation,
    revokeFamily,
    revokeAccessToken,
    revokeUser,
    accessTokenStatus,
    useNonceCount,
    onRevocation,
    close,
    ...memoryLoginFailures(maxEntries)
  }
}

// ---------------------------------------------------------------------------
// Login-failure counters (account protection): a separate map, bounded by the same
// maxEntries, so a flood of failed logins never evicts a family or a revocation.
// ---------------------------------------------------------------------------

interface FailureEntry extends LoginFailureCount {
  readonly expiresAt: number
}

function memoryLoginFailures (maxEntries: number): LoginFailureStore {
  // Map order is recency order: a counted failure moves its counter to the end
  const counters = new Map<string, FailureEntry>()

  function read (key: string, now: number): LoginFailureCount {
    const entry = counters.get(key)
    if (entry === undefined) return NO_LOGIN_FAILURES
    if (entry.expiresAt > now) return { failures: entry.failures, lastFailureAt: entry.lastFailureAt }
    counters.delete(key)
    return NO_LOGIN_FAILURES
  }

  // When full, expired counters go first, then the least recently failed one
  function makeRoom (now: number): void {
    if (counters.size < maxEntries) return
    for (const [key, entry] of counters) if (entry.expiresAt <= now) counters.delete(key)
    const oldest = counters.keys().next()
    if (counters.size >= maxEntries && oldest.done !== true) counters.delete(oldest.value)
  }

  function count (key: string, now: number, windowMs: number): LoginFailureCount {
    const failures = read(key, now).failures + 1
    counters.delete(key)
    makeRoom(now)
    counters.set(key, { failures, lastFailureAt: now, expiresAt: now + windowMs })
    return { failures, lastFailureAt: now }
  }

  return {
    async recordLoginFailure (keys: LoginFailureKeys, now: number, windowMs: number): Promise<LoginFailureCounts> {
      return { address: count(`a:${keys.address}`, now, windowMs), pair: count(`p:${keys.address}:${keys.pair}`, now, windowMs) }
    },
    async loginFailures (keys: LoginFailureKeys, now: number): Promise<LoginFailureCounts> {
      return { address: read(`a:${keys.address}`, now), pair: read(`p:${keys.address}:${keys.pair}`, now) }
    },
    async clearLoginFailures (keys: LoginFailureKeys): Promise<void> {
      counters.delete(`p:${keys.address}:${keys.pair}`)
    }
  }
}
