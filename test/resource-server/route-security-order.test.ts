import { Writable } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import t, { type Test } from 'tap'
import { login, registerPlugin, seedUsers } from '../helpers/build-app.js'

// Issue 8 §3: enforcement never depends on documentation or registration order.

async function orderedApp (t: Test, before: (app: FastifyInstance) => void, after: (app: FastifyInstance) => void = () => {}, options = {}) {
  const app = Fastify()
  t.teardown(() => app.close())
  before(app)
  await registerPlugin(app, seedUsers(), options)
  after(app)
  await app.ready()
  return app
}

const ok = async () => ({ ok: true })

t.test('schema.hide changes the document only: a hidden route gets the plugin-wide default', async (t) => {
  const app = await orderedApp(t, () => {}, (app) => {
    app.get('/admin', { schema: { hide: true } }, ok)
    app.get('/hidden-public', { schema: { hide: true, security: [] } }, ok)
  }, { security: [{ OAuth2PasswordBearer: ['me'] }] })
  const anonymous = await app.inject({ url: '/admin' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="api"')
  const token = await login(app, 'bob')
  t.equal((await app.inject({ url: '/admin', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/hidden-public' })).statusCode, 200, 'security: [] still opts out')
})

t.test('a route registered before the plugin that declares schema.security is enforced', async (t) => {
  const app = await orderedApp(t, (app) => {
    app.get('/early', { schema: { security: [{ OAuth2PasswordBearer: ['items'] }] } }, ok)
    app.get('/early-any', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }, {}] } }, ok)
    app.get('/early-public', ok)
  })
  const anonymous = await app.inject({ url: '/early' })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.headers['www-authenticate'], 'Bearer realm="api"')
  const bob = await login(app, 'bob')
  const forbidden = await app.inject({ url: '/early', headers: { authorization: `Bearer ${bob}` } })
  t.equal(forbidden.statusCode, 403, 'bob lacks items')
  const john = await login(app, 'johndoe')
  t.equal((await app.inject({ url: '/early', headers: { authorization: `Bearer ${john}` } })).statusCode, 200)
  t.equal((await app.inject({ url: '/early', headers: { authorization: `Bearer ${john}` } })).statusCode, 200, 'compiled once, used again')
  t.equal((await app.inject({ url: '/early-any' })).statusCode, 200, 'anonymous allowed by {}')
  t.equal((await app.inject({ url: '/early-any', headers: { authorization: 'Bearer forged' } })).statusCode, 401, 'bad credentials are still refused')
  t.equal((await app.inject({ url: '/early-public' })).statusCode, 200, 'routes that declare nothing stay as they are')
})

t.test('an early route naming an unknown scheme fails its requests, logged with the route, never served', async (t) => {
  const lines: string[] = []
  const stream = new Writable({ write (chunk, _encoding, done) { lines.push(String(chunk)); done() } })
  const app = Fastify({ logger: { level: 'error', stream } })
  t.teardown(() => app.close())
  app.get('/early-unknown', { schema: { security: [{ Nope: [] }] } }, ok)
  app.get('/early-malformed', { schema: { security: 'yes' } as never }, ok)
  await registerPlugin(app, seedUsers())
  await app.ready()
  for (const url of ['/early-unknown', '/early-malformed']) {
    const response = await app.inject({ url })
    t.equal(response.statusCode, 500, url)
    t.notMatch(response.body, /ok/, url)
  }
  t.match(lines.join(''), /GET \/early-unknown/)
  t.match(lines.join(''), /schema\.security of GET \/early-malformed/)
})
