import t from 'tap'
import { VerifiedTokenCache } from '../../lib/jwt/verified-token-cache.js'

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

t.test('the oldest entry makes room; size 0 stores nothing', async (t) => {
  const cache = new VerifiedTokenCache<string>(2)
  cache.set('a', '1', 0, 10, 0)
  cache.set('b', '2', 0, 10, 0)
  cache.set('c', '3', 0, 10, 0)
  t.same([cache.get('a', 1), cache.get('b', 1), cache.get('c', 1)], [undefined, '2', '3'])
  const none = new VerifiedTokenCache<string>(0)
  none.set('a', '1', 0, 10, 0)
  t.equal(none.get('a', 1), undefined)
})

t.test('when nearly every lookup misses, a token is stored on its second verification only; hits restore storing on the first', async (t) => {
  const cache = new VerifiedTokenCache<string>(4)
  const miss = (count: number, prefix: string): void => {
    for (let i = 0; i < count; i++) cache.get(`${prefix}${i}`, 1)
  }
  miss(1024, 'cold')
  cache.set('once', 'claims', 0, 10, 0)
  t.equal(cache.get('once', 1), undefined, 'a token verified once is not stored')
  cache.set('once', 'claims', 0, 10, 0)
  t.equal(cache.get('once', 1), 'claims', 'verified again while still recently seen: stored')
  for (let i = 0; i < 1023; i++) cache.get('once', 1)
  cache.set('fresh', 'claims', 0, 10, 0)
  t.equal(cache.get('fresh', 1), 'claims', 'once hits are back, the first verification is stored again')
})

t.test('the table of recently seen tokens stays small whatever the size', async (t) => {
  const huge = new VerifiedTokenCache<string>(10_000_000)
  huge.set('a', 'claims', 0, 10, 0)
  t.equal(huge.get('a', 1), 'claims')
  const none = new VerifiedTokenCache<string>(0)
  for (let i = 0; i < 1024; i++) none.get(`t${i}`, 1)
  none.set('a', 'claims', 0, 10, 0)
  t.equal(none.get('a', 1), undefined, 'size 0 still stores nothing')
})
