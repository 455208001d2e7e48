import t from 'tap'
import { nearestName } from '../../lib/util/nearest-name.js'

t.test('nearestName picks the closest known name, case-insensitively', async (t) => {
  t.equal(nearestName('acessTokenTtl', ['tokenUrl', 'accessTokenTtl', 'clockTolerance']), 'accessTokenTtl')
  t.equal(nearestName('SECRET', ['secret', 'scopes']), 'secret')
  t.equal(nearestName('', ['ab', 'a']), 'a')
  t.equal(nearestName('x', []), undefined)
})
