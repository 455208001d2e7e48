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
