import t from 'tap'
import { buildExampleApp } from '../../examples/app/app.js'
import { LogCollector } from '../helpers/log-secrets.js'

// Issue 8 §6: the example's logger writes no URL, so no query string of the plugin's routes
// (a password a client put there) and no token of the app's routes reaches its log.

const PLANTED = 'planted-password-1234'

t.test('the example\'s logger logs no query string of the plugin\'s routes, nor any URL', async (t) => {
  const collector = new LogCollector()
  const jwtSecret = 'example-log-secret-of-at-least-32-bytes'
  for (const secret of [jwtSecret, PLANTED, 'secret']) collector.remember(secret, 1)
  const app = await buildExampleApp({ jwtSecret, bcryptCost: 4, database: ':memory:', logger: collector.logger() })
  t.teardown(() => app.close())
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const login = await app.inject({ method: 'POST', url: `/token?password=${PLANTED}`, headers: form, payload: 'username=johndoe&password=secret' })
  collector.remember(login.json().access_token)
  collector.remember(login.json().refresh_token)
  await app.inject({ url: `/token?username=johndoe&password=${PLANTED}` })
  await app.inject({ url: `/users/me?access_token=${String(login.json().access_token)}` })
  await app.inject({ method: 'POST', url: `/revoke?token=${String(login.json().refresh_token)}`, headers: form, payload: `token=${String(login.json().refresh_token)}` })
  t.ok(collector.lines.length > 0, 'it logged (at trace)')
  t.notOk(collector.lines.some((line) => line.includes('"url"')), 'no URL at all')
  t.same(collector.leaks(), [])
})
