import t from 'tap'
import { InvalidTokenError, isCatalogueError, protocolErrorCode } from '../lib/errors.js'

t.test('isCatalogueError tells this plugin\'s errors from anything else thrown', async (t) => {
  t.equal(isCatalogueError(new InvalidTokenError('x')), true)
  t.equal(isCatalogueError(new Error('database down')), false)
  t.equal(isCatalogueError(Object.assign(new Error('x'), { code: 'FST_ERR_OTHER' })), false)
  t.equal(isCatalogueError({ code: 'FST_OAUTH2_INVALID_TOKEN' }), false, 'a plain object is not an error')
  t.equal(isCatalogueError('FST_OAUTH2_INVALID_TOKEN'), false)
  t.equal(protocolErrorCode(new InvalidTokenError('x')), 'invalid_token')
})
