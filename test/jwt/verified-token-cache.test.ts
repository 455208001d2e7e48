import { createHash } from 'node:crypto'
import t from 'tap'
import { VerifiedTokenCache, tokenFingerprint } from '../../lib/jwt/verified-token-cache.js'

// What the verifier does per request: a hit, or a verification and an offer to the cache
function use (cache: VerifiedTokenCache<string>, token: string, now = 1): boolean {
  if (cache.get(token, now) !== undefined) return true
  cache.set(token, `claims of ${token}`, 0, 10_000_000, now)
  return false
}

// Tokens shaped like real ones: the cache fingerprints their last characters, a signature, distinct for each token
function tokens (count: number, prefix: string): string[] {
  return Array.from({ length: count }, (_, index) => `${prefix}.${index}.${createHash('sha256').update(`${prefix}.${index}`).digest('base64url')}`)
}

function hitShare (cache: VerifiedTokenCache<string>, sequence: readonly string[]): number {
  return sequence.filter((token) => use(cache, token)).length / sequence.length
}

t.test('serves a token between its nbf and exp only', async (t) => {
  const cache = new VerifiedTokenCache<string>(10)
  cache.set('a', 'claims', 1_000, 5_000, 0)
  t.equal(cache.get('a', 999), undefined, 'not valid yet')
  t.equal(cache.get('a', 1_000), 'claims', 'valid from nbf')
  t.equal(cache.get('a', 4_999), 'claims')
  t.equal(cache.get('a', 5_000), undefined, 'gone at expiresAt')
  t.equal(cache.get('a', 1_000), undefined, 'and forgotten')
})

t.test('never keeps an entry longer than ten minutes', async (t) => {
  const cache = new VerifiedTokenCache<string>(10)
  cache.set('a', 'claims', 0, Number.MAX_SAFE_INTEGER, 0)
  t.equal(cache.get('a', 600_000 - 1), 'claims')
  t.equal(cache.get('a', 600_000), undefined)
})

t.test('stores every token until full; size 0 stores nothing', async (t) => {
  const cache = new VerifiedTokenCache<string>(3)
  for (const token of ['a', 'b', 'c']) use(cache, token)
  t.same(['a', 'b', 'c'].map((token) => cache.get(token, 1)), ['claims of a', 'claims of b', 'claims of c'])
  const none = new VerifiedTokenCache<string>(0)
  use(none, 'a')
  t.equal(none.get('a', 1), undefined)
})

t.test('with more tokens in turn than room, a fixed share stays and hits every time it comes back', async (t) => {
  // A first-in-first-out (or least-recently-used) cache pushes every entry out before its token returns: 0 hits
  const cache = new VerifiedTokenCache<string>(100)
  const inTurn = tokens(150, 'user')
  for (let round = 0; round < 5; round++) hitShare(cache, inTurn)
  const share = hitShare(cache, [...inTurn, ...inTurn, ...inTurn])
  t.ok(share > 0.55, `hits ${share.toFixed(2)} of lookups, at most 100/150 possible`)
})

t.test('a burst of tokens used once does not push out the tokens in use', async (t) => {
  const cache = new VerifiedTokenCache<string>(20)
  const inUse = tokens(20, 'active')
  for (let round = 0; round < 3; round++) hitShare(cache, inUse)
  // Within the sketch's memory (ten uses per entry between agings): popularity fades over longer spans
  hitShare(cache, tokens(100, 'scan'))
  t.equal(hitShare(cache, inUse), 1, 'all 20 still cached')
})

t.test('a token used more often than the entries takes the place of one of them', async (t) => {
  const cache = new VerifiedTokenCache<string>(4)
  for (const token of tokens(4, 'once')) use(cache, token)
  const [hot] = tokens(1, 'hot')
  t.equal(use(cache, hot), false, 'first use: a miss')
  t.equal(cache.get(hot, 1), undefined, 'no more used than the entries: not stored')
  t.equal(use(cache, hot), false, 'second use: verified again, and now stored')
  t.equal(use(cache, hot), true, 'from then on a hit')
  t.equal(tokens(4, 'once').filter((token) => cache.get(token, 1) !== undefined).length, 3, 'one entry made room')
})

t.test('an expired entry gives its place to any newcomer', async (t) => {
  const cache = new VerifiedTokenCache<string>(1)
  cache.set('old', 'claims', 0, 5, 0)
  for (let index = 0; index < 5; index++) cache.get('old', 1)
  cache.set('new', 'claims', 0, 100, 10)
  t.equal(cache.get('new', 11), 'claims')
  t.equal(cache.get('old', 11), undefined)
})

t.test('a token stored again replaces its own entry, in its own slot', async (t) => {
  const cache = new VerifiedTokenCache<string>(2)
  cache.set('a', 'early', 50, 100, 0)
  t.equal(cache.get('a', 10), undefined, 'not valid yet')
  cache.set('a', 'claims', 0, 100, 10)
  cache.set('b', 'claims', 0, 100, 10)
  t.same([cache.get('a', 11), cache.get('b', 11)], ['claims', 'claims'], 'one slot each')
  cache.set('c', 'claims', 0, 100, 10)
  t.equal(cache.get('c', 11), undefined, 'now full: a candidate no more used than the victim stays out')
  for (let index = 0; index < 3; index++) cache.get('a', 11)
  cache.set('a', 'renewed', 0, 100, 11)
  t.equal(cache.get('a', 12), 'renewed', 'a cached token stored again is replaced, whatever the sketch says')
})

t.test('an expired victim leaves the map with its slot, so the map never outgrows the ring', async (t) => {
  const cache = new VerifiedTokenCache<string>(1)
  cache.set('old', 'claims', 0, 5, 0)
  for (let index = 0; index < 5; index++) cache.get('old', 1)
  cache.set('new', 'claims', 0, 100, 10)
  t.equal(cache.size, 1, 'the expired "old", never looked up again, is gone with its slot')
  t.equal(cache.get('new', 11), 'claims')
})

t.test('a slot left by an expired entry never takes the token\'s newer entry with it', async (t) => {
  const cache = new VerifiedTokenCache<string>(3)
  cache.set('a', 'first', 0, 5, 0)
  cache.set('b', 'claims', 0, 100, 0)
  cache.set('c', 'claims', 0, 100, 0)
  cache.set('d', 'claims', 0, 100, 1)
  t.equal(cache.get('d', 1), undefined, 'full: "d" no more used than "a", which stays; the hand moves on')
  t.equal(cache.get('a', 6), undefined, '"a" expired: forgotten, its slot still holds the old entry')
  cache.set('a', 'second', 0, 100, 7)
  t.equal(cache.get('a', 7), 'second', 'verified again, and used more than "b": it takes the place of "b"')
  cache.set('e', 'claims', 0, 100, 8)
  cache.set('f', 'claims', 0, 100, 9)
  t.equal(cache.get('f', 9), 'claims', '"f" takes the slot of the old "a" entry')
  t.equal(cache.get('a', 9), 'second', 'and the newer "a" stays')
})

// Two token-like strings with one fingerprint: the first pair a deterministic search over
// signature-like ends meets (about 41,000 tries for 30 bits)
function findSharedFingerprint (): [string, string] {
  const seen = new Map<number, string>()
  for (let index = 0; ; index++) {
    const [token] = tokens(1, `search-${index}`) as [string]
    const fingerprint = tokenFingerprint(token)
    const other = seen.get(fingerprint)
    if (other !== undefined) return [other, token]
    seen.set(fingerprint, token)
  }
}
const sharingFingerprint = findSharedFingerprint()

t.test('fingerprints: non-negative 30-bit integers of the last 8 characters', async (t) => {
  const fingerprints = tokens(1_000, 'user').map(tokenFingerprint)
  t.ok(fingerprints.every((value) => Number.isInteger(value) && value >= 0 && value < 2 ** 30))
  t.equal(new Set(fingerprints).size, 1_000, 'distinct tokens, distinct fingerprints')
  t.equal(tokenFingerprint('a-00000001'), tokenFingerprint('b.00000001'), 'only the last 8 characters count')
  t.not(tokenFingerprint('a-00000001'), tokenFingerprint('a-00000002'))
})

t.test('a token that shares a cached token\'s fingerprint is never served its value', async (t) => {
  const [first, second] = sharingFingerprint
  t.equal(tokenFingerprint(first), tokenFingerprint(second))
  const cache = new VerifiedTokenCache<string>(10)
  cache.set(first, 'claims of first', 0, 100, 0)
  t.equal(cache.get(second, 1), undefined, 'a miss, though its fingerprint finds an entry')
  t.equal(cache.get(first, 1), 'claims of first', 'and the entry stays')
  // A lookup at a later time, then one back within the entry's life: the entry must still be there
  t.equal(cache.get(second, 200), undefined, 'a miss after the entry expired too')
  t.equal(cache.get(first, 50), 'claims of first', 'which the other token\'s lookup did not remove')
})

t.test('two tokens that share a fingerprint take turns in one entry', async (t) => {
  const [first, second] = sharingFingerprint
  const cache = new VerifiedTokenCache<string>(2)
  cache.set(first, 'claims of first', 0, 100, 0)
  cache.set('other', 'claims of other', 0, 100, 0)
  // Full: only the slot of its fingerprint's entry can take it (as a candidate it would tie with the victim and stay out)
  cache.set(second, 'claims of second', 0, 100, 1)
  t.equal(cache.size, 2)
  t.equal(cache.get(second, 2), 'claims of second', 'the newer verification is served')
  t.equal(cache.get(first, 2), undefined, 'the older one is gone')
  t.equal(cache.get('other', 2), 'claims of other', 'and the other entry stays')
})
