import { Writable } from 'node:stream'
import t from 'tap'
import { buildExampleApp } from '../../examples/app/app.js'

// The example logs every security event as one JSON line with an `event` field; refusals at debug.

t.test('each security event is one JSON log line with an event field and no secret', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({
    write (chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>)
      done()
    }
  })
  const app = await buildExampleApp({ jwtSecret: 'example-test-secret-of-at-least-32-bytes', bcryptCost: 4, database: ':memory:', logger: { level: 'debug', stream } })
  t.teardown(() => app.close())
  const form = (username: string, password: string) => app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ username, password }).toString() })
  t.equal((await form('johndoe', 'wrong')).statusCode, 400)
  t.equal((await form('johndoe', 'secret')).statusCode, 200)
  const events = lines.filter((line) => line.msg === 'security event')
  t.match(events, [
    { level: 20, event: 'authn_login_fail', reason: 'wrong_password', userId: 'johndoe', clientAddress: '127.0.0.1', mechanism: 'password_grant' },
    { level: 30, event: 'authn_login_success', reason: 'valid_credentials', userId: 'johndoe', clientAddress: '127.0.0.1', mechanism: 'password_grant' }
  ])
  t.equal(events.length, 2)
  t.notMatch(JSON.stringify(events), /secret|\$2[ab]\$|eyJ/, 'no password, hash or token')
})
