import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp, PASSWORD } from '../helpers/build-app.js'

// Issue 8 §3: the token path answers every other method with 405 and `Allow: POST`, and
// a password put in its query string is never echoed or logged.

const SECRET_PASSWORD = 'pw-Qm7zXw4'

t.test('405 with Allow: POST on the token and revoke paths; the query is neither echoed nor logged', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const { app } = await buildApp({ refreshTokens: true }, () => {}, { logger: { level: 'info', stream } })
  t.teardown(() => app.close())
  for (const url of ['/token', '/revoke']) {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
      const response = await app.inject({ method, url: `${url}?username=johndoe&password=${SECRET_PASSWORD}` })
      t.equal(response.statusCode, 405, `${method} ${url}`)
      t.equal(response.headers.allow, 'POST')
      t.same(response.json(), { error: 'invalid_request', error_description: 'This endpoint accepts only POST' })
    }
  }
  const posted = await app.inject({ method: 'POST', url: `/token?password=${SECRET_PASSWORD}`, payload: `username=johndoe&password=${PASSWORD}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(posted.statusCode, 200)
  const log = lines.join('')
  t.match(log, /"url":"\/token"/, 'requests are still logged, by path')
  t.notMatch(log, SECRET_PASSWORD, 'never the query string')
})

t.test('the log line of a request without a socket (an inject) still has its path', async (t) => {
  const { requestWithoutQuery } = await import('../../lib/util/request-log.js')
  t.same(requestWithoutQuery({ method: 'GET', url: '/token?password=x', host: 'h', ip: '1.2.3.4' } as never), {
    method: 'GET', url: '/token', host: 'h', remoteAddress: '1.2.3.4', remotePort: undefined
  })
})
