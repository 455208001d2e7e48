import { Buffer } from 'node:buffer'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { apiKey, digestHa1, httpBasic, httpDigest } from '../../lib/index.js'
import { quietRefusal } from '../../lib/util/quiet-refusal.js'
import { buildApp, login, postForm } from '../helpers/build-app.js'

// Issue 8 §6: refused requests are logged at debug, so a flood of bad credentials
// cannot fill a disk at the default level; a failure of ours is still an error.

async function loggedApp (t: Test, level: string) {
  const lines: Array<Record<string, unknown>> = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(JSON.parse(String(chunk))); done() } })
  const { app } = await buildApp({
    refreshTokens: true,
    throttling: { perAddress: { freeAttempts: 1 } },
    securitySchemes: {
      ApiKey: apiKey({ in: 'header', name: 'x-api-key', verify: (key) => key === 'good-key' ? { client: 'ok' } : null }),
      Basic: httpBasic(),
      Digest: httpDigest({ realm: 'quiet', findHa1: (username, realm, algorithm) => digestHa1(username, realm, 'digest-password', algorithm) })
    }
  }, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['items'] }] } }, async () => ({ ok: true }))
    app.get('/either', { schema: { security: [{ ApiKey: [] }, { OAuth2PasswordBearer: [] }] } }, async () => ({ ok: true }))
    app.get('/key', { schema: { security: [{ ApiKey: [] }] } }, async () => ({ ok: true }))
    app.get('/basic', { schema: { security: [{ Basic: [] }] } }, async () => ({ ok: true }))
    app.get('/digest', { schema: { security: [{ Digest: [] }] } }, async () => ({ ok: true }))
    // The app's own line for every answer, as an audit log would write it
    app.addHook('onResponse', async (request, reply) => { request.log.info({ audit: reply.statusCode }, 'audit') })
  }, { logger: { level, stream } })
  t.teardown(() => app.close())
  return { app, lines }
}

const refused = (lines: Array<Record<string, unknown>>) => lines.filter((line) => line.err !== undefined || line.res !== undefined)
const basic = (userId: string, password: string) => `Basic ${Buffer.from(`${userId}:${password}`).toString('base64')}`

t.test('at info: a refused request writes no error line and no completion line', async (t) => {
  const { app, lines } = await loggedApp(t, 'info')
  const bob = await login(app, 'bob')
  lines.length = 0
  const answers = [
    await app.inject({ url: '/me' }),
    await app.inject({ url: '/me', headers: { authorization: 'Bearer forged' } }),
    await app.inject({ url: '/me', headers: { authorization: `Bearer ${bob}` } }),
    await app.inject({ url: '/either', headers: { 'x-api-key': 'bad-key' } }),
    await app.inject({ url: '/key', headers: { 'x-api-key': 'bad-key' } }),
    await app.inject({ url: '/basic', headers: { authorization: basic('johndoe', 'wrong-password') } }),
    await app.inject({ url: '/basic', headers: { authorization: basic('johndoe', 'wrong-password') } }),
    await app.inject({ url: '/digest', headers: { authorization: 'Digest username="johndoe"' } }),
    await app.inject({ url: '/digest' })
  ]
  t.same(answers.map((answer) => answer.statusCode), [401, 401, 403, 401, 401, 401, 429, 401, 401])
  t.same(refused(lines), [], 'only the incoming-request lines')
  t.ok(lines.every((line) => line.level === 30 && (line.msg === 'incoming request' || line.msg === 'audit')))
  t.equal((await app.inject({ url: '/either', headers: { 'x-api-key': 'good-key' } })).statusCode, 200)
  t.equal(refused(lines).length, 1, 'an admitted request still completes at info')
})

t.test('at info: the token and revocation endpoints\' refusals, 405 included, write no completion line', async (t) => {
  const { app, lines } = await loggedApp(t, 'info')
  const answers = [
    await postForm(app, { grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' }),
    await postForm(app, { grant_type: 'unknown' }),
    await postForm(app, {}, {}, '/revoke'),
    await app.inject({ method: 'POST', url: '/token', payload: '{}', headers: { 'content-type': 'application/json' } }),
    await app.inject({ url: '/token?username=johndoe&password=secret' }),
    await app.inject({ method: 'DELETE', url: '/revoke' }),
    await postForm(app, { username: 'johndoe', password: 'wrong-password' }),
    await postForm(app, { username: 'johndoe', password: 'wrong-password' })
  ]
  t.same(answers.map((answer) => answer.statusCode), [400, 400, 400, 400, 405, 405, 400, 429])
  t.same(refused(lines), [], 'only the incoming-request lines')
})

t.test('at info: a failure of ours (500) is still written, with its completion line', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const { app } = await buildApp({ users: { findByUsername: () => { throw new Error('user store down') }, findById: () => null } }, () => {}, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  t.equal((await postForm(app, { username: 'johndoe', password: 'secret' })).statusCode, 500)
  t.same(refused(lines).map((line) => [line.level, line.msg]), [[50, 'fastify-oauth2-password: token endpoint failure'], [30, 'request completed']])
})

t.test('at debug: the refusals are there', async (t) => {
  const { app, lines } = await loggedApp(t, 'debug')
  await app.inject({ url: '/me' })
  await postForm(app, { grant_type: 'unknown' })
  t.ok(refused(lines).some((line) => (line.err as { code?: string } | undefined)?.code === 'FST_OAUTH2_MISSING_CREDENTIALS'))
  t.ok(refused(lines).some((line) => line.msg === 'request completed' && (line.res as { statusCode: number }).statusCode === 400))
})

t.test('a logger without pino\'s numeric level is left as it is', async (t) => {
  const log = { child: () => { throw new Error('not called') } }
  const reply = { log } as never
  quietRefusal(reply, 401)
  t.equal((reply as { log: unknown }).log, log)
})

t.test('the app\'s own lines for a refused request are still written', async (t) => {
  const { app, lines } = await loggedApp(t, 'info')
  lines.length = 0
  t.equal((await postForm(app, { username: 'johndoe', password: 'wrong' })).statusCode, 400)
  t.equal((await app.inject({ url: '/key', headers: { 'x-api-key': 'bad-key' } })).statusCode, 401)
  t.same(lines.filter((line) => line.msg === 'audit').map((line) => line.audit), [400, 401])
  t.same(refused(lines), [], 'Fastify\'s own lines for them are not')
})
