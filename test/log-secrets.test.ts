import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import t from 'tap'
import { LogCollector, assertNoLoggedSecrets } from './helpers/log-secrets.js'
import { PASSWORD, SECRET, registerPlugin, seedUsers } from './helpers/build-app.js'

// Issue 8 §6: the suite's log check (test/helpers/log-secrets.ts) catches a secret that is
// logged, and the plugin's routes give it nothing to catch.

const PLANTED = 'planted-password-1234'

async function collectedApp (collector: LogCollector) {
  const app = Fastify({ logger: collector.logger() })
  collector.watch(app)
  await registerPlugin(app, seedUsers(), { refreshTokens: true })
  // A route of the app's own, with Fastify's default request serializer: the URL is logged as it came
  app.get('/echo', async (request) => {
    request.log.info({ digest: createHash('sha256').update(String(request.headers.authorization).slice(7)).digest('hex') }, 'planted')
    return { ok: true }
  })
  t.teardown(() => app.close())
  return app
}

t.test('the check finds a password in a logged query string, and a token\'s SHA-256', async (t) => {
  const collector = new LogCollector()
  const app = await collectedApp(collector)
  await app.inject({ url: `/echo?password=${PLANTED}`, headers: { authorization: 'Bearer planted-token-5678' } })
  t.same(new Set(collector.leaks().map((leak) => leak.secret)), new Set([PLANTED, createHash('sha256').update('planted-token-5678').digest('hex')]))
  t.throws(() => { assertNoLoggedSecrets(collector) }, /log line\(s\) carry a secret/)
})

t.test('the check matches whole words only: client_secret is not the password "secret"', async (t) => {
  const collector = new LogCollector()
  collector.remember(PASSWORD, 1)
  collector.lines.push('{"msg":"The client_secret parameter is missing"}', '{"msg":"JWT_SECRET"}')
  t.same(collector.leaks(), [])
  collector.lines.push('{"url":"/token?password=secret"}')
  t.equal(collector.leaks().length, 1)
})

t.test('the plugin\'s routes never log their query strings, whatever the method', async (t) => {
  const collector = new LogCollector()
  collector.remember(SECRET)
  const app = await collectedApp(collector)
  const query = `?username=johndoe&password=${PLANTED}`
  for (const method of ['GET', 'POST', 'DELETE'] as const) {
    for (const path of ['/token', '/revoke']) await app.inject({ method, url: path + query, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=johndoe&password=secret' })
  }
  t.ok(collector.lines.some((line) => line.includes('"url":"/token"')), 'the request lines are there, without the query')
  t.same(collector.leaks(), [])
})
