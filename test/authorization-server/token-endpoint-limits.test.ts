import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import t, { type Test } from 'tap'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { buildApp, PASSWORD } from '../helpers/build-app.js'

// The token endpoint over a real loopback socket: what the HTTP layer refuses before
// any route runs (header size, slow clients) and the body limit as a client sees it.

const LOGIN_BODY = `username=johndoe&password=${PASSWORD}`

async function listeningApp (t: Test, options: Partial<OAuth2PasswordOptions> = {}, server: FastifyServerOptions = {}): Promise<{ app: FastifyInstance, port: number }> {
  const { app } = await buildApp(options, () => {}, server)
  t.teardown(() => app.close())
  await app.listen({ port: 0, host: '127.0.0.1' })
  return { app, port: (app.server.address() as AddressInfo).port }
}

async function fetchLogin (port: number, body = LOGIN_BODY, headers: Record<string, string> = {}): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}/token`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }
  })
}

/** Writes `data` on a fresh connection (without ending it) and resolves with all the server sent once it closes. */
async function rawExchange (port: number, data: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.write(data) })
    let received = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { received += chunk })
    socket.on('error', reject)
    socket.on('close', () => { resolve(received) })
  })
}

/** Splits a raw HTTP/1.1 response into status line, lower-cased headers and body. */
function parseResponse (raw: string): { status: string, headers: Record<string, string>, body: string } {
  const end = raw.indexOf('\r\n\r\n')
  const [status, ...lines] = raw.slice(0, end).split('\r\n')
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  return { status: status as string, headers, body: raw.slice(end + 4) }
}

async function assertStillServing (t: Test, port: number): Promise<void> {
  const response = await fetchLogin(port)
  t.equal(response.status, 200, 'the server still answers logins')
  t.match(await response.json(), { token_type: 'bearer', scope: 'me items' })
}

t.test('a header block over Node\'s maxHeaderSize gets 431, and the server carries on', async (t) => {
  const { port } = await listeningApp(t)
  const response = await fetchLogin(port, LOGIN_BODY, { 'x-padding': 'a'.repeat(20 * 1024) })
  t.equal(response.status, 431)
  t.same(await response.json(), { error: 'Request Header Fields Too Large', message: 'Exceeded maximum allowed HTTP header size', statusCode: 431 })

  const raw = parseResponse(await rawExchange(port, `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\n${`x-a: ${'b'.repeat(100)}\r\n`.repeat(400)}\r\n`))
  t.equal(raw.status, 'HTTP/1.1 431 Request Header Fields Too Large', 'many headers adding up over the limit')
  await assertStillServing(t, port)
})

t.test('a client that stops halfway hits requestTimeout: 408, then the server carries on', async (t) => {
  // Node checks its timeouts every connectionsCheckingInterval (30 s by default) and
  // applies the smaller of headersTimeout (60 s by default) and requestTimeout first,
  // so both are lowered for the 500 ms requestTimeout to be the one that fires.
  // (`http` is handed to http.createServer(); Fastify's option types leave it out)
  const server = { requestTimeout: 500, http: { headersTimeout: 500, connectionsCheckingInterval: 50 } }
  const { port } = await listeningApp(t, {}, server)
  const halfBody = parseResponse(await rawExchange(port,
    'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=joh'))
  t.equal(halfBody.status, 'HTTP/1.1 408 Request Timeout', 'half a body')
  t.same(JSON.parse(halfBody.body), { error: 'Request Timeout', message: 'Client Timeout', statusCode: 408 })

  const halfHeaders = parseResponse(await rawExchange(port, 'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty'))
  t.equal(halfHeaders.status, 'HTTP/1.1 408 Request Timeout', 'half the headers')
  await assertStillServing(t, port)
})

t.test('the body limit as a client sees it', async (t) => {
  const { port } = await listeningApp(t, { tokenBodyLimit: 64 })
  const declared = parseResponse(await rawExchange(port,
    `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n${LOGIN_BODY}`))
  t.equal(declared.status, 'HTTP/1.1 400 Bad Request', 'a Content-Length over the limit is refused before the body arrives')
  t.match(declared.headers, { 'cache-control': 'no-store', pragma: 'no-cache', connection: 'close' })
  t.same(JSON.parse(declared.body), { error: 'invalid_request', error_description: 'The request body is too large' })

  const chunk = 'a'.repeat(40)
  const chunked = parseResponse(await rawExchange(port,
    'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n' +
    `${chunk.length.toString(16)}\r\n${chunk}\r\n`.repeat(3)))
  t.equal(chunked.status, 'HTTP/1.1 400 Bad Request', 'a chunked body growing over the limit is cut off')
  t.same(JSON.parse(chunked.body), { error: 'invalid_request', error_description: 'The request body is too large' })

  const untyped = await fetch(`http://127.0.0.1:${port}/token`, { method: 'POST', body: LOGIN_BODY, headers: { 'content-type': '' } })
  t.equal(untyped.status, 400, 'a body without a content type')
  t.equal(untyped.headers.get('cache-control'), 'no-store')
  t.same(await untyped.json(), { error: 'invalid_request', error_description: 'The request body must be application/x-www-form-urlencoded' })
  await assertStillServing(t, port)
})

t.test('a malformed request line or header is refused by the HTTP layer with 400', async (t) => {
  const { port } = await listeningApp(t)
  const response = parseResponse(await rawExchange(port, 'POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n'))
  t.equal(response.status, 'HTTP/1.1 400 Bad Request')
  t.same(JSON.parse(response.body), { error: 'Bad Request', message: 'Client Error', statusCode: 400 })
  await assertStillServing(t, port)
})
