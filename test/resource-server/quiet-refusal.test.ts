import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { apiKey } from '../../lib/index.js'
import { buildApp, login } from '../helpers/build-app.js'

// Issue 8 §6: refused requests are logged at debug, so a flood of bad credentials
// cannot fill a disk at the default level; a failure of ours is still an error.

async function loggedApp (t: Test, level: string) {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const { app } = await buildApp({
    securitySchemes: { ApiKey: apiKey({ in: 'header', name: 'x-api-key', verify: (key) => key === 'good' ? { client: 'ok' } : null }) }
  }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['items'] }] } }, async () => ({ ok: true }))
    app.get('/either', { schema: { security: [{ ApiKey: [] }, { OAuth2PasswordBearer: [] }] } }, async () => ({ ok: true }))
  }, { logger: { level, stream } })
  t.teardown(() => app.close())
  return { app, lines }
}

const refused = (lines: Array<Record<string, unknown>>) => lines.filter((line) => line.err !== undefined || line.res !== undefined)

t.test('at info: a refused request writes no error line and no completion line', async (t) => {
  const { app, lines } = await loggedApp(t, 'info')
  const bob = await login(app, 'bob')
  lines.length = 0
  const answers = [
    await app.inject({ url: '/me' }),
    await app.inject({ url: '/me', headers: { authorization: 'Bearer forged' } }),
    await app.inject({ url: '/me', headers: { authorization: `Bearer ${bob}` } }),
    await app.inject({ url: '/either', headers: { 'x-api-key': 'bad' } })
  ]
  t.same(answers.map((answer) => answer.statusCode), [401, 401, 403, 401])
  t.same(refused(lines), [], 'only the incoming-request lines')
  t.ok(lines.every((line) => line.level === 30 && line.msg === 'incoming request'))
  t.equal((await app.inject({ url: '/either', headers: { 'x-api-key': 'good' } })).statusCode, 200)
  t.equal(refused(lines).length, 1, 'an admitted request still completes at info')
})

t.test('at debug: the refusals are there', async (t) => {
  const { app, lines } = await loggedApp(t, 'debug')
  await app.inject({ url: '/me' })
  t.ok(refused(lines).some((line) => (line.err as { code?: string } | undefined)?.code === 'FST_OAUTH2_MISSING_CREDENTIALS'))
})

t.test('a logger without pino\'s numeric level is left as it is', async (t) => {
  const { quietRefusal } = await import('../../lib/resource-server/quiet-refusal.js')
  const log = { child: () => { throw new Error('not called') } }
  const request = { log } as never
  const reply = { log } as never
  quietRefusal(request, reply)
  t.equal((reply as { log: unknown }).log, log)
})
