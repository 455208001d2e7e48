import { createHash, randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Test } from 'tap'
import type { AccessTokenQuery, NewRefreshTokenFamily, RotationRequest, TokenStore } from '../../lib/stores/token-store.js'

/**
 * The TokenStore conformance suite: the contract of lib/stores/token-store.ts,
 * observed through the interface only. Every store runs it; a new store passes
 * it before it ships. `create` returns a fresh, empty store (or one with a fresh prefix).
 */

const MINUTE = 60_000
// Long enough for a pub/sub subscription to be in place, and for a notification to come through
const SETTLE_MS = 300

function hash (): string {
  return createHash('sha256').update(randomBytes(32)).digest('base64url')
}

function newFamily (now: number, overrides: Partial<NewRefreshTokenFamily> = {}): NewRefreshTokenFamily {
  return {
    id: hash(),
    userId: 'johndoe',
    clientId: null,
    scope: 'me items',
    issuedAt: now,
    expiresAt: now + 30 * MINUTE,
    tokenHash: hash(),
    idleExpiresAt: now + 10 * MINUTE,
    ...overrides
  }
}

function rotation (family: NewRefreshTokenFamily, tokenHash: string, now: number, overrides: Partial<RotationRequest> = {}): RotationRequest {
  return {
    familyId: family.id,
    userId: family.userId,
    tokenHash,
    nextTokenHash: hash(),
    now,
    idleExpiresAt: now + 10 * MINUTE,
    reuseGrace: 0,
    retainUntil: now + 5 * MINUTE,
    successorSeed: hash(),
    retryWindow: 0,
    ...overrides
  }
}

function publicPart ({ tokenHash, idleExpiresAt, ...family }: NewRefreshTokenFamily) {
  return family
}

/** Counts `onRevocation` calls; `settled()` waits for notifications in flight. */
async function watch (store: TokenStore): Promise<{ readonly count: number, stop: () => void }> {
  let count = 0
  const stop = store.onRevocation(() => { count++ })
  await sleep(SETTLE_MS)
  const start = count
  return { get count () { return count - start }, stop }
}

export function tokenStoreConformance (t: Test, create: () => Promise<TokenStore>): void {
  async function fresh (t: Test): Promise<TokenStore> {
    const store = await create()
    t.teardown(() => store.close())
    const createdAt = Date.now()
    // A store may answer, as not-before time, the time its data is complete from (Redis: its generation
    // markers), never later than its creation: for these tests that is "no not-before time"
    return Object.assign(Object.create(store) as TokenStore, {
      async accessTokenStatus (query: AccessTokenQuery) {
        const status = await store.accessTokenStatus(query)
        return { ...status, notBefore: status.notBefore <= createdAt ? 0 : status.notBefore }
      }
    })
  }

  t.test('createFamily then findFamily returns the family without its token hashes', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const anonymous = newFamily(now)
    const ofClient = newFamily(now, { clientId: 'swagger-ui', scope: '' })
    await store.createFamily(anonymous)
    await store.createFamily(ofClient)
    t.same(await store.findFamily(anonymous.id, now), publicPart(anonymous))
    t.same(await store.findFamily(ofClient.id, now + MINUTE), publicPart(ofClient), 'a client id and an empty scope survive the round trip')
    t.equal(await store.findFamily(hash(), now), null, 'unknown family')
  })

  t.test('findFamily: a family is dead from its idle deadline and from its absolute end', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const idle = newFamily(now, { idleExpiresAt: now + MINUTE })
    const absolute = newFamily(now, { expiresAt: now + 2 * MINUTE, idleExpiresAt: now + 2 * MINUTE })
    await store.createFamily(idle)
    await store.createFamily(absolute)
    t.ok(await store.findFamily(idle.id, now + MINUTE - 1))
    t.equal(await store.findFamily(idle.id, now + MINUTE), null, 'idle deadline reached')
    t.ok(await store.findFamily(absolute.id, now + 2 * MINUTE - 1))
    t.equal(await store.findFamily(absolute.id, now + 2 * MINUTE), null, 'absolute end reached')
  })

  t.test('rotate: the current token rotates once; the token it replaced is a reuse that ends the family', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    await store.createFamily(family)
    const first = rotation(family, family.tokenHash, now + 1000)
    t.equal(await store.rotate(first), 'rotated')
    const second = rotation(family, first.nextTokenHash, now + 2000)
    t.equal(await store.rotate(second), 'rotated', 'the successor is the current token now')
    t.equal(await store.rotate(rotation(family, family.tokenHash, now + 3000)), 'reused', 'RFC 9700 §4.14.2: an old token comes back')
    t.equal(await store.findFamily(family.id, now + 3000), null, 'the family is revoked')
    t.equal(await store.rotate(rotation(family, second.nextTokenHash, now + 4000)), 'invalid', 'even its current token is dead')
    const status = await store.accessTokenStatus({ jti: 'a', familyId: family.id, userId: family.userId })
    t.same(status, { revoked: true, notBefore: 0 }, 'its access tokens (by sid) are revoked')
  })

  t.test('rotate: any token of a known family that is not its current one is a reuse', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    await store.createFamily(family)
    t.equal(await store.rotate(rotation(family, hash(), now)), 'reused')
    t.equal(await store.findFamily(family.id, now), null)
  })

  t.test('rotate slides the idle deadline, never past the absolute end', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now, { idleExpiresAt: now + MINUTE })
    await store.createFamily(family)
    const used = rotation(family, family.tokenHash, now + 50_000, { idleExpiresAt: now + 50_000 + MINUTE })
    t.equal(await store.rotate(used), 'rotated')
    t.ok(await store.findFamily(family.id, now + 100_000), 'alive past the first idle deadline')
    t.equal(await store.findFamily(family.id, now + 110_000), null, 'dead at the new one')
    t.equal(await store.rotate(rotation(family, used.nextTokenHash, now + 110_000)), 'invalid', 'an expired family does not rotate')
  })

  t.test('rotate refuses unknown families and another user\'s family, changing nothing', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    await store.createFamily(family)
    t.equal(await store.rotate(rotation(newFamily(now), family.tokenHash, now)), 'invalid')
    t.equal(await store.rotate(rotation(family, family.tokenHash, now, { userId: 'mallory' })), 'invalid')
    t.equal(await store.rotate(rotation(family, family.tokenHash, now)), 'rotated', 'the family is untouched')
    t.equal(await store.rotate(rotation(family, family.tokenHash, now + 30 * MINUTE)), 'invalid', 'nor after its absolute end')
  })

  t.test('reuse grace: the replaced token is superseded within the grace, a reuse after it', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    await store.createFamily(family)
    const used = rotation(family, family.tokenHash, now, { reuseGrace: 2000 })
    t.equal(await store.rotate(used), 'rotated')
    t.equal(await store.rotate(rotation(family, family.tokenHash, now + 1999, { reuseGrace: 2000 })), 'superseded')
    t.ok(await store.findFamily(family.id, now + 1999), 'the family lives on')
    t.equal(await store.rotate(rotation(family, hash(), now + 1999, { reuseGrace: 2000 })), 'reused', 'grace covers only the token just replaced')
    const other = newFamily(now)
    await store.createFamily(other)
    const otherUse = rotation(other, other.tokenHash, now, { reuseGrace: 2000 })
    t.equal(await store.rotate(otherUse), 'rotated')
    t.equal(await store.rotate(rotation(other, other.tokenHash, now + 2000, { reuseGrace: 2000 })), 'reused', 'after the grace')
  })

  t.test('retry window: an unconfirmed rotation is repeated with its seed; once confirmed, the old token is a reuse', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    await store.createFamily(family)
    const first = rotation(family, family.tokenHash, now, { retryWindow: 5000 })
    t.equal(await store.rotate(first), 'rotated')
    const retried = await store.rotate(rotation(family, family.tokenHash, now + 4999, { retryWindow: 5000 }))
    t.same(retried, { outcome: 'repeated', successorSeed: first.successorSeed }, 'the answer was lost: the same successor again')
    await store.confirmRotation(family.id, family.tokenHash)
    t.same(await store.rotate(rotation(family, family.tokenHash, now + 4999, { retryWindow: 5000 })), { outcome: 'repeated', successorSeed: first.successorSeed }, 'confirming a token that is not current changes nothing')
    await store.confirmRotation(family.id, first.nextTokenHash)
    t.equal(await store.rotate(rotation(family, family.tokenHash, now + 4999, { retryWindow: 5000 })), 'reused', 'RFC 9700 §4.14.2: the successor was handed out, so this is a replay')
    t.equal(await store.findFamily(family.id, now), null)
  })

  t.test('retry window: it ends, it covers only the token just replaced, and the successor stays current', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const late = newFamily(now)
    const chain = newFamily(now)
    await store.createFamily(late)
    await store.createFamily(chain)
    t.equal(await store.rotate(rotation(late, late.tokenHash, now, { retryWindow: 5000 })), 'rotated')
    t.equal(await store.rotate(rotation(late, late.tokenHash, now + 5000, { retryWindow: 5000 })), 'reused', 'after the window: a reuse')
    const first = rotation(chain, chain.tokenHash, now, { retryWindow: 5000 })
    t.equal(await store.rotate(first), 'rotated')
    t.same(await store.rotate(rotation(chain, chain.tokenHash, now + 1, { retryWindow: 5000 })), { outcome: 'repeated', successorSeed: first.successorSeed })
    const second = rotation(chain, first.nextTokenHash, now + 2, { retryWindow: 5000 })
    t.equal(await store.rotate(second), 'rotated', 'the repeated successor is the current token')
    t.equal(await store.rotate(rotation(chain, chain.tokenHash, now + 3, { retryWindow: 5000 })), 'reused', 'a token two rotations back is a reuse')
  })

  t.test('retry window: 50 concurrent uses of one token rotate once and repeat that rotation', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    await store.createFamily(family)
    const requests = Array.from({ length: 50 }, () => rotation(family, family.tokenHash, now, { retryWindow: 5000 }))
    const outcomes = await Promise.all(requests.map((request) => store.rotate(request)))
    const winner = outcomes.indexOf('rotated')
    t.equal(outcomes.filter((outcome) => outcome === 'rotated').length, 1)
    const seed = requests[winner]?.successorSeed
    t.ok(outcomes.every((outcome, index) => index === winner || (typeof outcome === 'object' && outcome.successorSeed === seed)), 'every other one gets the winner\'s seed')
    t.ok(await store.findFamily(family.id, now))
  })

  t.test('50 concurrent rotations of one token: exactly one wins', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const strict = newFamily(now)
    const lenient = newFamily(now)
    await store.createFamily(strict)
    await store.createFamily(lenient)
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.rotate(rotation(strict, strict.tokenHash, now))))
    const count = (outcome: string) => outcomes.filter((each) => each === outcome).length
    t.equal(count('rotated'), 1)
    t.equal(count('reused'), 1, 'the first loser is a reuse: it ends the family')
    t.equal(count('invalid'), 48, 'the others meet a revoked family')
    t.equal(await store.findFamily(strict.id, now), null, 'without grace the race ends the family')

    const graced = await Promise.all(Array.from({ length: 50 }, () => store.rotate(rotation(lenient, lenient.tokenHash, now, { reuseGrace: 5000 }))))
    t.equal(graced.filter((outcome) => outcome === 'rotated').length, 1)
    t.equal(graced.filter((outcome) => outcome === 'superseded').length, 49)
    t.ok(await store.findFamily(lenient.id, now), 'with grace the family survives')
  })

  t.test('revokeFamily ends the family and revokes its access tokens', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const family = newFamily(now)
    const other = newFamily(now)
    await store.createFamily(family)
    await store.createFamily(other)
    await store.revokeFamily(family.id, now, now + MINUTE)
    t.equal(await store.findFamily(family.id, now), null)
    t.equal(await store.rotate(rotation(family, family.tokenHash, now)), 'invalid')
    t.same(await store.accessTokenStatus({ jti: 'x', familyId: family.id, userId: 'johndoe' }), { revoked: true, notBefore: 0 })
    t.same(await store.accessTokenStatus({ jti: 'x', familyId: other.id, userId: 'johndoe' }), { revoked: false, notBefore: 0 }, 'other families are untouched')
    t.ok(await store.findFamily(other.id, now))
    await store.revokeFamily(family.id, now, now + MINUTE)
    t.pass('revoking twice is harmless')
  })

  t.test('revokeAccessToken revokes one jti', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    await store.revokeAccessToken('jti-1', now, now + MINUTE)
    t.same(await store.accessTokenStatus({ jti: 'jti-1', familyId: undefined, userId: 'johndoe' }), { revoked: true, notBefore: 0 })
    t.same(await store.accessTokenStatus({ jti: 'jti-2', familyId: undefined, userId: 'johndoe' }), { revoked: false, notBefore: 0 })
    await store.revokeAccessToken('jti-1', now, now + 1000)
    t.same(await store.accessTokenStatus({ jti: 'jti-1', familyId: hash(), userId: 'bob' }), { revoked: true, notBefore: 0 }, 'a shorter retention does not un-revoke')
  })

  t.test('revokeUser: a not-before time that never goes down and ends older families', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const older = newFamily(now - 1)
    const newer = newFamily(now + 1000)
    const bobs = newFamily(now - 1, { userId: 'bob' })
    for (const family of [older, newer, bobs]) await store.createFamily(family)
    await store.revokeUser('johndoe', now + 1000, now, now + MINUTE)
    t.same(await store.accessTokenStatus({ jti: 'x', familyId: undefined, userId: 'johndoe' }), { revoked: false, notBefore: now + 1000 })
    t.same(await store.accessTokenStatus({ jti: 'x', familyId: undefined, userId: 'bob' }), { revoked: false, notBefore: 0 }, 'per user')
    await store.revokeUser('johndoe', now + 500, now, now + 1000)
    t.same(await store.accessTokenStatus({ jti: 'x', familyId: undefined, userId: 'johndoe' }), { revoked: false, notBefore: now + 1000 }, 'a lower time does not lower it')
    t.equal(await store.rotate(rotation(older, older.tokenHash, now + 1000)), 'invalid', 'a family from before the not-before time is dead')
    t.equal(await store.rotate(rotation(newer, newer.tokenHash, now + 1000)), 'rotated', 'a family from the not-before time on lives')
    t.equal(await store.rotate(rotation(bobs, bobs.tokenHash, now + 1000)), 'rotated', 'other users are untouched')
    await store.revokeUser('johndoe', now + 2000, now, now + MINUTE)
    t.equal((await store.accessTokenStatus({ jti: 'x', familyId: undefined, userId: 'johndoe' })).notBefore, now + 2000, 'a later time moves it forward')
  })

  t.test('onRevocation: called for revocations, not for other writes; the returned function removes it', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const seen = await watch(store)
    const family = newFamily(now)
    await store.createFamily(family)
    await store.rotate(rotation(family, family.tokenHash, now))
    await store.findFamily(family.id, now)
    await sleep(SETTLE_MS)
    t.equal(seen.count, 0, 'creating, rotating and reading notify nobody')
    await store.revokeAccessToken('jti', now, now + MINUTE)
    await sleep(SETTLE_MS)
    t.ok(seen.count >= 1, 'access-token revocation')
    let before = seen.count
    await store.revokeUser('johndoe', now, now, now + MINUTE)
    await sleep(SETTLE_MS)
    t.ok(seen.count > before, 'user revocation')
    before = seen.count
    await store.revokeFamily(family.id, now, now + MINUTE)
    await sleep(SETTLE_MS)
    t.ok(seen.count > before, 'family revocation')
    before = seen.count
    const reused = newFamily(now)
    await store.createFamily(reused)
    t.equal(await store.rotate(rotation(reused, hash(), now)), 'reused')
    await sleep(SETTLE_MS)
    t.ok(seen.count > before, 'reuse detection')
    seen.stop()
    before = seen.count
    await store.revokeAccessToken('jti-2', now, now + MINUTE)
    await sleep(SETTLE_MS)
    t.equal(seen.count, before, 'no call after removal')
  })

  t.test('useNonceCount: each count of a nonce is accepted once, on every instance sharing the store', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const nonce = hash()
    t.equal(await store.useNonceCount(nonce, 1, now, now + MINUTE, now), true)
    t.equal(await store.useNonceCount(nonce, 1, now, now + MINUTE, now), false, 'RFC 7616 §3.4: a replay')
    t.equal(await store.useNonceCount(nonce, 3, now, now + MINUTE, now), true)
    t.equal(await store.useNonceCount(nonce, 2, now, now + MINUTE, now), true, 'an overtaken count still counts')
    t.equal(await store.useNonceCount(hash(), 1, now, now + MINUTE, now), true, 'counts are per nonce')
  })

  t.test('close resolves', async (t) => {
    const store = await create()
    await store.close()
    t.pass()
  })

  loginFailureConformance(t, fresh)
}

// ---------------------------------------------------------------------------
// Login-failure counters (account protection)
// ---------------------------------------------------------------------------

function failureKeys (address = hash(), pair = hash()) {
  return { address, pair }
}

function loginFailureConformance (t: Test, fresh: (t: Test) => Promise<TokenStore>): void {
  const none = { failures: 0, lastFailureAt: 0 }

  t.test('login failures: both counters count, unknown counters read as none', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const keys = failureKeys()
    t.same(await store.loginFailures(keys, now), { address: none, pair: none })
    t.same(await store.recordLoginFailure(keys, now, MINUTE), { address: { failures: 1, lastFailureAt: now }, pair: { failures: 1, lastFailureAt: now } })
    t.same(await store.recordLoginFailure(keys, now + 5, MINUTE), { address: { failures: 2, lastFailureAt: now + 5 }, pair: { failures: 2, lastFailureAt: now + 5 } })
    const otherUser = failureKeys(keys.address)
    t.same(await store.recordLoginFailure(otherUser, now + 9, MINUTE), { address: { failures: 3, lastFailureAt: now + 9 }, pair: { failures: 1, lastFailureAt: now + 9 } },
      'another username from the same address: the address counter goes on, its pair starts at 1')
    t.same(await store.loginFailures(keys, now + 10), { address: { failures: 3, lastFailureAt: now + 9 }, pair: { failures: 2, lastFailureAt: now + 5 } })
    t.same(await store.loginFailures(failureKeys(hash(), keys.pair), now + 10), { address: none, pair: none }, 'the same pair digest under another address is another counter')
  })

  t.test('login failures: a counter is forgotten windowMs after its last failure', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const keys = failureKeys()
    await store.recordLoginFailure(keys, now, MINUTE)
    await store.recordLoginFailure(keys, now + 30_000, MINUTE)
    t.same((await store.loginFailures(keys, now + 30_000 + MINUTE - 1)).pair, { failures: 2, lastFailureAt: now + 30_000 }, 'the window slides with each failure')
    t.same(await store.loginFailures(keys, now + 30_000 + MINUTE), { address: none, pair: none })
    t.same((await store.recordLoginFailure(keys, now + 30_000 + MINUTE, MINUTE)).pair.failures, 1, 'an expired counter starts again')
  })

  t.test('login failures: clearing forgets the pair, never the address', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const keys = failureKeys()
    await store.recordLoginFailure(keys, now, MINUTE)
    await store.recordLoginFailure(keys, now, MINUTE)
    await store.clearLoginFailures(keys)
    t.same(await store.loginFailures(keys, now), { address: { failures: 2, lastFailureAt: now }, pair: none })
    await store.clearLoginFailures(failureKeys())
    t.pass('clearing an unknown pair is a no-op')
  })

  t.test('login failures: concurrent failures are all counted', async (t) => {
    const store = await fresh(t)
    const now = Date.now()
    const keys = failureKeys()
    const answers = await Promise.all(Array.from({ length: 20 }, () => store.recordLoginFailure(keys, now, MINUTE)))
    t.same(answers.map((answer) => answer.pair.failures).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1), 'each call saw its own count')
    t.equal((await store.loginFailures(keys, now)).address.failures, 20)
  })
}
