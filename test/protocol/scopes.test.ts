import t from 'tap'
import { formatScope, grantScopes, isScopeToken, missingScopes, parseScope } from '../../lib/protocol/scopes.js'

t.test('isScopeToken follows RFC 6749 §3.3 scope-token', async (t) => {
  for (const token of ['me', 'items:read', 'a!#$%&\'()*+,-./:;<=>?@[]^_`{|}~', 'https://api.example.com/read', '!', '~']) {
    t.equal(isScopeToken(token), true, JSON.stringify(token))
  }
  for (const token of ['', ' ', 'a b', 'a"b', 'a\\b', 'é', 'a\tb', 'a\nb', 'a\x7Fb', 'a\x00b', 'a\u00A0b']) {
    t.equal(isScopeToken(token), false, JSON.stringify(token))
  }
})

t.test('parseScope splits on single spaces, in order, without duplicates', async (t) => {
  t.same(parseScope(''), [])
  t.same(parseScope('me'), ['me'])
  t.same(parseScope('me items'), ['me', 'items'])
  t.same(parseScope('items me items'), ['items', 'me'])
})

t.test('parseScope refuses what breaks the grammar', async (t) => {
  for (const value of ['me  items', ' me', 'me ', ' ', 'me\titems', 'me\nitems', 'me "items"', 'me\\', 'mé', 'me\u3000items']) {
    t.equal(parseScope(value), null, JSON.stringify(value))
  }
})

t.test('formatScope joins with one space', async (t) => {
  t.equal(formatScope([]), '')
  t.equal(formatScope(['me']), 'me')
  t.equal(formatScope(new Set(['me', 'items'])), 'me items')
})

t.test('grantScopes: requested ∩ allowed, or all allowed when none requested', async (t) => {
  t.same(grantScopes([], ['me', 'items']), ['me', 'items'])
  t.same(grantScopes(['items'], ['me', 'items']), ['items'])
  t.same(grantScopes(['items', 'me'], ['me', 'items']), ['items', 'me'], 'in the requested order')
  t.same(grantScopes(['items'], ['me']), [])
  t.same(grantScopes([], []), [])
  const allowed = ['me']
  const granted = grantScopes([], allowed)
  granted.push('items')
  t.same(allowed, ['me'], 'a copy, never the caller\'s array')
})

t.test('missingScopes lists required scopes not granted, in required order', async (t) => {
  t.same(missingScopes([], new Set()), [])
  t.same(missingScopes(['me', 'items'], new Set(['me', 'items'])), [])
  t.same(missingScopes(['items', 'me', 'admin'], new Set(['me'])), ['items', 'admin'])
})
