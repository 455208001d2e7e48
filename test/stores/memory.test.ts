import t from 'tap'
import { memoryTokenStore } from '../../lib/stores/memory.js'
import { tokenStoreConformance } from './conformance.js'

const MINUTE = 60_000

function family (id: string, now: number, idleExpiresAt = now + 10 * MINUTE) {
  return { id, userId: 'johndoe', clientId: null, scope: 'me', issuedAt: now, expiresAt: now + 30 * MINUTE, tokenHash: `${id}-hash`, idleExpiresAt }
}

function rotation (id: string, tokenHash: string, now: number) {
  return { familyId: id, userId: 'johndoe', tokenHash, nextTokenHash: `${tokenHash}+`, now, idleExpiresAt: now + 10 * MINUTE, reuseGrace: 0, retainUntil: now + MINUTE, successorSeed: `${tokenHash}-seed`, retryWindow: 0 }
}

t.test('conformance', async (t) => {
  tokenStoreConformance(t, async () => memoryTokenStore())
})

t.test('maxEntries must be a positive integer', async (t) => {
  for (const maxEntries of [0, -1, 1.5, '10', Number.NaN]) {
    t.throws(() => memoryTokenStore({ maxEntries: maxEntries as number }), { code: 'FST_OAUTH2_INVALID_OPTION', message: /^Invalid option maxEntries: must be a positive integer/ }, String(maxEntries))
  }
})

t.test('when full, the least recently used family makes room', async (t) => {
  const store = memoryTokenStore({ maxEntries: 3 })
  const now = Date.now()
  for (const id of ['a', 'b', 'c']) await store.createFamily(family(id, now))
  t.equal(await store.rotate(rotation('a', 'a-hash', now)), 'rotated', 'a use makes "a" the most recent')
  await store.createFamily(family('d', now))
  t.equal(store.size, 3)
  t.equal(await store.findFamily('b', now), null, '"b" was the least recently used')
  for (const id of ['a', 'c', 'd']) t.ok(await store.findFamily(id, now), id)
  await store.createFamily(family('d', now))
  t.equal(store.size, 3, 'creating an existing id again takes no room')
})

t.test('when full, expired entries are swept before anything is evicted', async (t) => {
  const store = memoryTokenStore({ maxEntries: 3 })
  const now = Date.now()
  await store.createFamily(family('short', now, now + 1000))
  await store.revokeAccessToken('soon-expired', now, now + 1000)
  await store.createFamily(family('long', now))
  await store.createFamily(family('next', now + 1000))
  t.equal(store.size, 2, 'both expired entries went, the live family stayed')
  t.ok(await store.findFamily('long', now + 1000))
  t.same(await store.accessTokenStatus({ jti: 'soon-expired', familyId: undefined, userId: 'johndoe' }), { revoked: false, notBefore: 0 })
})

t.test('revocations are never evicted: a full store refuses new ones, families go first', async (t) => {
  const store = memoryTokenStore({ maxEntries: 2 })
  const now = Date.now()
  await store.createFamily(family('f', now))
  await store.revokeAccessToken('one', now, now + MINUTE)
  await store.revokeAccessToken('two', now, now + MINUTE)
  t.equal(await store.findFamily('f', now), null, 'the family made room for a revocation')
  await t.rejects(store.revokeAccessToken('three', now, now + MINUTE), { code: 'FST_OAUTH2_TOKEN_STORE_FULL', statusCode: 503, message: 'The in-memory token store holds 2 unexpired entries, its maxEntries' })
  await t.rejects(store.revokeUser('johndoe', now, now, now + MINUTE), { code: 'FST_OAUTH2_TOKEN_STORE_FULL' })
  await t.rejects(store.createFamily(family('g', now)), { code: 'FST_OAUTH2_TOKEN_STORE_FULL' })
  t.same(await store.accessTokenStatus({ jti: 'one', familyId: undefined, userId: 'johndoe' }), { revoked: true, notBefore: 0 }, 'nothing was forgotten')
  await store.revokeAccessToken('one', now, now + 2 * MINUTE)
  t.pass('renewing a known revocation needs no room')
  await store.revokeAccessToken('three', now + 2 * MINUTE, now + 3 * MINUTE)
  t.equal(store.size, 1, 'once they expire, the revocations are swept and a new one fits')
})

t.test('a revocation already past its retention takes no room', async (t) => {
  const store = memoryTokenStore({ maxEntries: 1 })
  const now = Date.now()
  await store.revokeAccessToken('expired', now, now)
  t.equal(store.size, 0)
})

t.test('expired entries are swept once a minute of caller time has passed', async (t) => {
  const store = memoryTokenStore()
  const now = Date.now()
  await store.createFamily(family('idle', now, now + 1000))
  await store.revokeFamily('gone', now, now + 1000)
  await store.revokeUser('bob', now, now, now + 1000)
  t.equal(store.size, 3)
  await store.createFamily(family('later', now + 30_000))
  t.equal(store.size, 4, 'not yet')
  await store.createFamily(family('much-later', now + 60_000))
  t.equal(store.size, 2, 'the three expired entries are gone')
})

t.test('a user\'s expired not-before time no longer ends families', async (t) => {
  const store = memoryTokenStore()
  const now = Date.now()
  await store.createFamily(family('f', now))
  await store.revokeUser('johndoe', now + 1, now, now + 1000)
  t.equal(await store.rotate(rotation('f', 'f-hash', now + 1000)), 'rotated')
})

t.test('one store may serve several apps: close releases nothing they share', async (t) => {
  const store = memoryTokenStore()
  let calls = 0
  store.onRevocation(() => { calls++ })
  await store.close()
  const now = Date.now()
  await store.revokeAccessToken('jti', now, now + MINUTE)
  t.equal(calls, 1)
  t.same(await store.accessTokenStatus({ jti: 'jti', familyId: undefined, userId: 'u' }), { revoked: true, notBefore: 0 })
})

t.test('login failures: when full, expired counters go first, then the least recently failed', async (t) => {
  const store = memoryTokenStore({ maxEntries: 4 })
  const now = Date.now()
  const keys = (address: string) => ({ address, pair: 'p' })
  // Each attempt holds two counters (address and pair)
  await store.recordLoginFailure(keys('a'), now, 10)
  await store.recordLoginFailure(keys('b'), now, MINUTE)
  await store.recordLoginFailure(keys('c'), now + 10, MINUTE)
  t.equal((await store.loginFailures(keys('b'), now + 10)).pair.failures, 1, 'the expired counters of "a" made room')
  await store.recordLoginFailure(keys('d'), now + 10, MINUTE)
  t.equal((await store.loginFailures(keys('b'), now + 10)).address.failures, 0, 'then the least recently failed went')
  t.equal((await store.loginFailures(keys('d'), now + 10)).pair.failures, 1)
  t.equal(store.size, 0, 'counters are not families or revocations')
})

t.test('Digest nonce-counts expire with their nonce: swept, and counted afresh', async (t) => {
  const store = memoryTokenStore({ maxEntries: 2 })
  const now = Date.now()
  t.equal(await store.useNonceCount('n1', 1, now, now + 1000, now), true)
  t.equal(await store.useNonceCount('n2', 1, now, now + 1000, now), true)
  t.equal(store.size, 2)
  t.equal(await store.useNonceCount('n3', 1, now + 2000, now + 3000, now + 2000), true, 'a full store sweeps the expired counts')
  t.equal(store.size, 1)
  t.equal(await store.useNonceCount('n3', 1, now + 2000, now + 3000, now + 2500), false)
  t.equal(await store.useNonceCount('n3', 1, now + 2000, now + 6000, now + 3000), true, 'once expired, a count is new again (the scheme refuses expired nonces first)')
})
