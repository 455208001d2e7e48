import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { buildApp, PASSWORD } from '../helpers/build-app.js'
import { requireRedisServer, startRedisServer } from '../helpers/redis-server.js'
import { httpBasic, memoryTokenStore, redisTokenStore, type SecurityEvent, type TokenStore } from '../../lib/index.js'

// Login throttling over real sockets, each client bound to its own loopback source
// address (127.0.0.2, 127.0.0.3…), on the memory store and on a real Redis shared by
// two instances. A fake clock moves time; nothing waits.

interface Answer { status: number, retryAfter: string | undefined, body: string }

function send (port: number, localAddress: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, localAddress, path, method: body === undefined ? 'GET' : 'POST', headers, agent: false }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => { text += chunk })
      response.on('end', () => resolve({ status: response.statusCode as number, retryAfter: response.headers['retry-after'], body: text }))
    })
    request.on('error', reject)
    request.end(body)
  })
}

function tokenRequest (port: number, from: string, username: string, password: string): Promise<Answer> {
  return send(port, from, '/token', { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ username, password }).toString())
}

function basicRequest (port: number, from: string, username: string, password: string): Promise<Answer> {
  return send(port, from, '/basic', { authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') })
}

async function instance (t: Test, store: TokenStore, clock: { now: number }, events: SecurityEvent[]): Promise<number> {
  const { app } = await buildApp({
    store,
    throttling: { now: () => clock.now },
    onSecurityEvent: (event) => { events.push(event) },
    securitySchemes: { Basic: httpBasic() }
  }, (app) => {
    app.get('/basic', { schema: { security: [{ Basic: [] }] } }, async () => 'ok')
  })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  return (app.server.address() as AddressInfo).port
}

/** Runs the scenario over one or two instances sharing `store` (`ports` alternate). */
async function scenario (t: Test, ports: number[], clock: { now: number }, events: SecurityEvent[]): Promise<void> {
  const port = (i: number) => ports[i % ports.length] as number

  t.test('30 counted failures for one username from 127.0.0.2; the victim logs in from 127.0.0.3 at once', async (t) => {
    let counted = 0
    let firstRefusal = 0
    for (let i = 0; counted < 30; i++) {
      const answer = await tokenRequest(port(i), '127.0.0.2', 'johndoe', 'wrong')
      if (answer.status === 400) {
        counted++
      } else {
        t.equal(answer.status, 429)
        if (firstRefusal === 0) firstRefusal = counted + 1
        clock.now += Number(answer.retryAfter) * 1000
      }
    }
    t.equal(firstRefusal, 6, 'the 6th attempt was the first refused')
    t.equal((await tokenRequest(port(1), '127.0.0.2', 'johndoe', PASSWORD)).status, 429, 'the attacker\'s address waits, on every instance')
    t.equal((await tokenRequest(port(0), '127.0.0.3', 'johndoe', PASSWORD)).status, 200, 'the victim is not locked out')
    t.ok(events.some((e) => e.event === 'authn_login_lock' && e.clientAddress === '127.0.0.2'))
    t.ok(events.some((e) => e.event === 'authn_login_success' && e.clientAddress === '127.0.0.3' && e.userId === 'johndoe'))
  })

  t.test('200 usernames from 127.0.0.4 are throttled within 50; HTTP Basic shares the limit', async (t) => {
    let firstRefused = 0
    for (let i = 1; i <= 200 && firstRefused === 0; i++) {
      if ((await tokenRequest(port(i), '127.0.0.4', `user${i}`, 'Summer2026!')).status === 429) firstRefused = i
    }
    t.equal(firstRefused, 21)
    const basic = await basicRequest(port(1), '127.0.0.4', 'johndoe', PASSWORD)
    t.equal(basic.status, 429)
    t.equal(basic.retryAfter, '1')
    t.equal((await basicRequest(port(0), '127.0.0.5', 'johndoe', PASSWORD)).status, 200, 'another address logs in with Basic')
  })
}

t.test('memory store, one instance', async (t) => {
  const clock = { now: Date.UTC(2026, 0, 1) }
  const events: SecurityEvent[] = []
  const port = await instance(t, memoryTokenStore(), clock, events)
  await scenario(t, [port], clock, events)
})

t.test('Redis store, two instances sharing it', async (t) => {
  if (!requireRedisServer(t)) return
  const redis = await startRedisServer(t)
  const clock = { now: Date.UTC(2026, 0, 1) }
  const events: SecurityEvent[] = []
  const stores = await Promise.all([redisTokenStore({ url: redis.url }), redisTokenStore({ url: redis.url })])
  const ports = [await instance(t, stores[0], clock, events), await instance(t, stores[1], clock, events)]
  await scenario(t, ports, clock, events)
})
