import Fastify from 'fastify'
import t from 'tap'
import { loggerRequestSerializer, requestWithoutParameters, requestWithoutQuery } from '../../lib/util/request-log.js'
import { buildApp, login } from '../helpers/build-app.js'

const request = (url: string) => ({ method: 'GET', url, host: 'h', ip: '127.0.0.1' }) as never

t.test('requestWithoutQuery: the path only', async (t) => {
  t.same(requestWithoutQuery(request('/token?password=x')), { method: 'GET', url: '/token', host: 'h', remoteAddress: '127.0.0.1', remotePort: undefined })
  t.equal(requestWithoutQuery(request('/token')).url, '/token')
})

t.test('requestWithoutParameters: the named parameters leave, the rest of the URL stays', async (t) => {
  const redact = requestWithoutParameters(new Set(['access_token', 'api key']))
  const cases: Array<[string, string]> = [
    ['/items', '/items'],
    ['/items?page=2', '/items?page=2'],
    ['/items?access_token=abc', '/items'],
    ['/items?page=2&access_token=abc&sort=asc', '/items?page=2&sort=asc'],
    // The names as the query parser reads them: percent-encoded, "+" for a space, without a value
    ['/items?access%5Ftoken=abc&page=2', '/items?page=2'],
    ['/items?api+key=abc', '/items'],
    ['/items?access_token', '/items'],
    // A name that does not decode could hide a credential: it leaves too
    ['/items?%E0%A4%A=abc&page=2', '/items?page=2']
  ]
  for (const [url, logged] of cases) t.equal((redact(request(url)) as { url: string }).url, logged, url)
})

t.test('routes after the plugin log their requests without the query credentials it reads', async (t) => {
  const lines: string[] = []
  const logger = { level: 'info', stream: { write: (line: string) => { lines.push(line) } } }
  const { app } = await buildApp({ bearerToken: { query: 'access_token' } }, (app) => {
    app.get('/items', async (request) => ({ id: (await request.currentUser()).id }))
    app.get('/own', { logSerializers: { req: (req) => ({ url: `own:${req.url}` }) } }, async () => ({ ok: true }))
  }, { logger })
  t.teardown(() => app.close())
  const token = await login(app)
  t.equal((await app.inject({ url: `/items?page=2&access_token=${token}` })).statusCode, 200)
  t.equal((await app.inject({ url: '/own?access_token=x' })).statusCode, 200)
  const urls = lines.map((line) => JSON.parse(line) as { req?: { url: string } }).flatMap((entry) => entry.req === undefined ? [] : [entry.req.url])
  t.same(urls, ['/token', '/items?page=2', 'own:/own?access_token=x'], 'a route that serializes its requests itself keeps its serializer')
})

t.test('without query credentials, routes keep the logger\'s own serializer', async (t) => {
  const lines: string[] = []
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(line) } }, serializers: { req: (req) => ({ url: `root:${req.url}` }) } } })
  const { default: plugin } = await import('../../lib/index.js')
  await app.register(plugin, { secret: 'x'.repeat(32), users: { findByUsername: () => null, findById: () => null } })
  app.get('/open', { schema: { security: [] } }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/open?q=1' })).statusCode, 200)
  t.ok(lines.some((line) => line.includes('"url":"root:/open?q=1"')))
})

t.test('the logger\'s own request serializer still runs, with the URL the plugin redacted', async (t) => {
  const lines: string[] = []
  const serializers = { req: (req: { url: string, headers: Record<string, unknown> }) => ({ url: req.url.replace(/sig=[^&]*/, 'sig=***'), tenant: req.headers['x-tenant'] }) }
  const { app } = await buildApp({ bearerToken: { query: 'access_token' } }, (app) => {
    app.get('/open', { schema: { security: [] } }, async () => ({ ok: true }))
  }, { logger: { level: 'info', serializers, stream: { write: (line: string) => { lines.push(line) } } } })
  t.teardown(() => app.close())
  t.equal((await app.inject({ url: '/open?sig=SECRETSIG&access_token=abc.def.ghi&x=1', headers: { 'x-tenant': 'acme' } })).statusCode, 200)
  t.equal((await app.inject({ url: '/open?x=2', headers: { 'x-tenant': 'acme' } })).statusCode, 200)
  const logged = lines.map((line) => JSON.parse(line) as { req?: unknown }).flatMap((entry) => entry.req === undefined ? [] : [entry.req])
  t.same(logged, [{ url: '/open?sig=***&x=1', tenant: 'acme' }, { url: '/open?x=2', tenant: 'acme' }])
})

t.test('a logger that is not pino, or has no req serializer, leaves the plugin\'s own fields', async (t) => {
  const req = (request: unknown) => request
  t.equal(loggerRequestSerializer({}), undefined)
  t.equal(loggerRequestSerializer({ [Symbol.for('pino.serializers')]: {} }), undefined)
  t.equal(loggerRequestSerializer({ [Symbol.for('pino.serializers')]: { req } }), req)
})
