import t from 'tap'
import { buildExampleApp } from '../../examples/app/app.js'
import { requireRedisServer, startRedisServer } from '../helpers/redis-server.js'

const SECRET = 'example-test-secret-that-is-32-bytes!!'

t.test('with REDIS_URL the example keeps refresh tokens in Redis', async (t) => {
  if (!requireRedisServer(t)) return
  const redis = await startRedisServer(t)
  const app = await buildExampleApp({ jwtSecret: SECRET, bcryptCost: 4, database: ':memory:', redisUrl: redis.url })
  t.teardown(() => app.close())
  const login = await app.inject({ method: 'POST', url: '/token', payload: 'username=johndoe&password=secret&scope=me', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(login.statusCode, 200)
  const { refresh_token: refreshToken } = login.json() as { refresh_token: string }
  const form = `grant_type=refresh_token&refresh_token=${encodeURIComponent(refreshToken)}`
  const refreshed = await app.inject({ method: 'POST', url: '/token', payload: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(refreshed.statusCode, 200, 'rotated through Redis')
  await redis.stop()
  const down = await app.inject({ method: 'POST', url: '/token', payload: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(down.statusCode, 503, 'Redis down: the documented 503')
  t.equal(down.headers['retry-after'], '1')
})
