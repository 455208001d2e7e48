import { Writable } from 'node:stream'
import t from 'tap'
import { loggableError } from '../../lib/util/loggable-error.js'
import { buildApp, login } from '../helpers/build-app.js'
import { observedStore } from '../helpers/token-stores.js'

// Issue 8 §6: Redis reply errors are logged without ioredis's command arguments.

// What ioredis rejects with: a ReplyError carrying the failed command and its arguments
function replyError (args: string[]): Error {
  return Object.assign(new Error('NOSCRIPT No matching script'), { name: 'ReplyError', command: { name: 'evalsha', args } })
}

t.test('loggableError keeps the story, drops the rest', async (t) => {
  const error = Object.assign(replyError(['user:johndoe', 'a'.repeat(64)]), { code: 'NOSCRIPT' })
  const logged = loggableError(error)
  t.match(logged, { type: 'ReplyError', message: 'NOSCRIPT No matching script', code: 'NOSCRIPT', stack: String })
  t.notMatch(JSON.stringify(logged), /johndoe|aaaa/)
  t.same(loggableError('boom'), { type: 'string', message: 'A non-error value was thrown' })
  const bare = new Error('x')
  delete bare.stack
  t.same(loggableError(bare), { type: 'Error', message: 'x' })
})

t.test('store failures on the token endpoint and in revocation checks log no command arguments', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const store = observedStore()
  const hash = 'f'.repeat(64)
  const { app } = await buildApp({ store, refreshTokens: true, revocation: { checkAccessTokens: true, cacheTtl: 0 } }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async () => ({ ok: true }))
  }, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  const token = await login(app)
  const failing = replyError(['fastify-oauth2-password:user:johndoe', hash])
  store.accessTokenStatus = async () => { throw failing }
  store.createFamily = async () => { throw failing }
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 503)
  t.equal((await app.inject({ method: 'POST', url: '/token', payload: 'username=johndoe&password=secret', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).statusCode, 503)
  const log = lines.join('')
  t.match(log, /NOSCRIPT No matching script/, 'the failure is logged')
  t.notMatch(log, hash, 'never a token hash')
  t.notMatch(log, 'user:johndoe', 'never a store key')
})
