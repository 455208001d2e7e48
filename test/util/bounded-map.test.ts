import t from 'tap'
import { BoundedMap } from '../../lib/util/bounded-map.js'

t.test('holds at most maxEntries: the oldest key goes first', async (t) => {
  const map = new BoundedMap<string, number>(2)
  map.set('a', 1)
  map.set('b', 2)
  map.set('c', 3)
  t.same([map.get('a'), map.get('b'), map.get('c')], [undefined, 2, 3])
  map.set('d', 4)
  t.same([map.get('b'), map.get('c'), map.get('d')], [undefined, 3, 4])
})

t.test('a key written again keeps its newest value until that write is the oldest', async (t) => {
  const map = new BoundedMap<string, { n: number }>(2)
  map.set('a', { n: 1 })
  map.set('a', { n: 2 })
  map.set('b', { n: 3 })
  t.same(map.get('a'), { n: 2 }, 'the first write of a was pushed out, not its second')
  t.same(map.get('b'), { n: 3 })
  map.set('c', { n: 4 })
  t.equal(map.get('a'), undefined, 'then its second write goes')
})

t.test('a deleted key frees nothing early and breaks nothing later', async (t) => {
  const map = new BoundedMap<string, number>(2)
  map.set('a', 1)
  map.delete('a')
  t.equal(map.get('a'), undefined)
  map.set('b', 2)
  map.set('c', 3)
  t.same([map.get('b'), map.get('c')], [2, 3])
})

t.test('clear forgets everything; size 0 stores nothing', async (t) => {
  const map = new BoundedMap<string, number>(3)
  map.set('a', 1)
  map.clear()
  t.equal(map.get('a'), undefined)
  map.set('b', 2)
  t.equal(map.get('b'), 2, 'usable after clear')
  const none = new BoundedMap<string, number>(0)
  none.set('a', 1)
  t.equal(none.get('a'), undefined)
})
