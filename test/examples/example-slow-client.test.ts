import { once } from 'node:events'
import { connect, type AddressInfo } from 'node:net'
import t from 'tap'
import { buildExampleApp } from '../../examples/app/app.js'

// Issue 8 §7: the example's server options say a client has 10 s to send its whole request. Node
// checks that only every connectionsCheckingInterval, so a body trickled at one byte a second
// must still be cut within 20 s, over a real socket.

t.test('a body trickled at one byte a second to the token endpoint is cut within 20 s', async (t) => {
  const app = await buildExampleApp({ jwtSecret: 'example-test-secret-of-at-least-32-bytes', bcryptCost: 4, database: ':memory:' })
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  const started = Date.now()
  const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1')
  await once(socket, 'connect')
  socket.write('POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 64\r\n\r\n')
  let answer = ''
  socket.setEncoding('utf8').on('data', (chunk: string) => { answer += chunk })
  socket.on('error', () => {}) // a reset also ends the test; 'close' follows it
  const trickle = setInterval(() => { if (!socket.destroyed) socket.write('u') }, 1000)
  const cut = setTimeout(() => socket.destroy(new Error('still open after 20 s')), 20_000)
  await once(socket, 'close')
  clearInterval(trickle)
  clearTimeout(cut)
  const elapsed = Date.now() - started
  t.ok(elapsed < 20_000, `cut after ${elapsed} ms`)
  t.ok(elapsed >= 9_000, 'not before the 10 s the options promise')
  t.match(answer, /^HTTP\/1\.1 408 /, 'answered 408 Request Timeout')
})
