import t from 'tap'
import { createDigestNonces } from '../../lib/schemes/digest-nonces.js'

function clock (start = 1_000_000) {
  let now = start
  return { now: () => now, advance: (ms: number) => { now += ms } }
}

t.test('nonces: issued here are recognised with their issue time; others are not', async (t) => {
  const time = clock()
  const nonces = createDigestNonces({ ttlMs: 1000, maxTracked: 10, now: time.now })
  const nonce = nonces.issue()
  t.match(nonce, /^[A-Za-z0-9_-]{48}$/)
  t.equal(nonces.issuedAt(nonce), 1_000_000)
  t.not(nonces.issue(), nonce, 'random part')
  t.equal(createDigestNonces({ ttlMs: 1000, maxTracked: 10 }).issuedAt(nonce), null, 'another secret')
  t.equal(nonces.issuedAt('short'), null)
  t.equal(nonces.issuedAt(`${nonce.slice(0, 10)}${nonce[10] === 'A' ? 'B' : 'A'}${nonce.slice(11)}`), null, 'tampered')
  const shared = Buffer.alloc(32, 7)
  t.equal(createDigestNonces({ ttlMs: 1, maxTracked: 1, secret: shared }).issuedAt(createDigestNonces({ ttlMs: 1, maxTracked: 1, secret: shared, now: time.now }).issue()), 1_000_000, 'a shared secret')
})

t.test('nonce-counts: each accepted once, in any order within 32, expiry makes the nonce stale', async (t) => {
  const time = clock()
  const nonces = createDigestNonces({ ttlMs: 1000, maxTracked: 10, now: time.now })
  const nonce = nonces.issue()
  const issued = nonces.issuedAt(nonce) as number
  t.equal(nonces.use(nonce, issued, 5), 'valid', 'a first count need not be 1')
  t.equal(nonces.use(nonce, issued, 5), 'stale')
  t.equal(nonces.use(nonce, issued, 1), 'valid')
  t.equal(nonces.use(nonce, issued, 100), 'valid')
  t.equal(nonces.use(nonce, issued, 69), 'valid', '31 behind')
  t.equal(nonces.use(nonce, issued, 68), 'stale', '32 behind')
  t.equal(nonces.use(nonce, issued, 0xffffffff), 'valid')
  time.advance(1000)
  t.equal(nonces.use(nonce, issued, 0xfffffffe), 'valid', 'still valid at exactly its lifetime')
  time.advance(1)
  t.equal(nonces.use(nonce, issued, 0xfffffffd), 'stale', 'expired')
})

t.test('the replay table is bounded: expired entries go first, then the oldest, and what was forgotten is stale', async (t) => {
  const time = clock()
  const nonces = createDigestNonces({ ttlMs: 1000, maxTracked: 2, now: time.now })
  const use = (nonce: string, nc = 1) => nonces.use(nonce, nonces.issuedAt(nonce) as number, nc)
  const a = nonces.issue()
  t.equal(use(a), 'valid')
  time.advance(600)
  const b = nonces.issue()
  t.equal(use(b), 'valid')
  time.advance(500)
  // a expired: making room for c drops it and forgets nothing fresh
  const c = nonces.issue()
  t.equal(use(c), 'valid')
  t.equal(use(b, 2), 'valid', 'b is still tracked')
  time.advance(1)
  // Table full of live nonces (b, c): d pushes out b, so everything issued up to b counts as stale
  const d = nonces.issue()
  t.equal(use(d), 'valid')
  t.equal(use(b, 3), 'stale', 'b was forgotten: never accepted again')
  t.equal(use(c, 2), 'valid')
  const e = nonces.issue()
  t.equal(use(e), 'valid')
  t.equal(use(c, 3), 'stale', 'c was pushed out by e')
  t.equal(use(d, 2), 'valid')
})

t.test('a nonce issued before the forgotten horizon and never used is stale too', async (t) => {
  const time = clock()
  const nonces = createDigestNonces({ ttlMs: 10_000, maxTracked: 1, now: time.now })
  const early = nonces.issue()
  time.advance(1)
  const first = nonces.issue()
  time.advance(1)
  const second = nonces.issue()
  t.equal(nonces.use(first, nonces.issuedAt(first) as number, 1), 'valid')
  t.equal(nonces.use(second, nonces.issuedAt(second) as number, 1), 'valid', 'pushes out first')
  t.equal(nonces.use(early, nonces.issuedAt(early) as number, 1), 'stale', 'issued before first: might have been used')
})

t.test('a nonce older than the entry it pushes out is stale, and pushes it out for nothing', async (t) => {
  const time = clock()
  const nonces = createDigestNonces({ ttlMs: 10_000, maxTracked: 1, now: time.now })
  const early = nonces.issue()
  time.advance(1)
  const late = nonces.issue()
  t.equal(nonces.use(late, nonces.issuedAt(late) as number, 1), 'valid')
  t.equal(nonces.use(early, nonces.issuedAt(early) as number, 1), 'stale')
  t.equal(nonces.use(late, nonces.issuedAt(late) as number, 2), 'stale', 'late was forgotten to make room')
})
