import t from 'tap'
import { isPromiseLike } from '../../lib/util/promise-like.js'

t.test('recognises any thenable, and nothing else', async (t) => {
  t.equal(isPromiseLike(Promise.resolve(1)), true)
  t.equal(isPromiseLike({ then: () => {} }), true)
  t.equal(isPromiseLike({ then: 1 }), false)
  t.equal(isPromiseLike(null), false)
  t.equal(isPromiseLike({ id: 'johndoe' }), false)
  t.equal(isPromiseLike('then'), false)
})
