import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp, login } from '../helpers/build-app.js'
import type { OAuth2PasswordOptions } from '../../lib/index.js'

// The claims a route sees for each request: the same frozen object when the token came from the cache
async function claimsApp (options: Partial<OAuth2PasswordOptions>): Promise<{ app: FastifyInstance, seen: unknown[] }> {
  const seen: unknown[] = []
  const { app } = await buildApp(options, (app) => {
    app.get('/me', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => {
      seen.push(request.auth?.claims)
      return { sub: request.auth?.claims?.sub }
    })
  })
  return { app, seen }
}

async function twice (app: FastifyInstance, token: string): Promise<number[]> {
  const codes = []
  for (let request = 0; request < 2; request++) codes.push((await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })).statusCode)
  return codes
}

t.test('by default a token seen before is served from the verified-token cache', async (t) => {
  const { app, seen } = await claimsApp({})
  t.teardown(() => app.close())
  t.same(await twice(app, await login(app)), [200, 200])
  t.equal(seen[0], seen[1], 'one verification, one frozen claims object')
  t.ok(Object.isFrozen(seen[0]))
})

t.test('accessTokenCacheSize: 0 verifies every request', async (t) => {
  const { app, seen } = await claimsApp({ accessTokenCacheSize: 0 })
  t.teardown(() => app.close())
  t.same(await twice(app, await login(app)), [200, 200])
  t.not(seen[0], seen[1], 'verified twice')
  t.same(seen[0], seen[1])
})

t.test('accessTokenCacheSize bounds the cache: beyond it the most used tokens stay', async (t) => {
  const { app, seen } = await claimsApp({ accessTokenCacheSize: 1 })
  t.teardown(() => app.close())
  const [first, second] = [await login(app), await login(app)]
  t.same([...await twice(app, first), ...await twice(app, second)], [200, 200, 200, 200])
  t.equal(seen[0], seen[1], 'the first token took the one place')
  t.not(seen[2], seen[3], 'the second, used no more often, is verified each time')
})
