import t from 'tap'
import { buildApp, login } from '../helpers/build-app.js'
import { fakeApiKey } from '../helpers/fake-api-key.js'
import { overrideScheme } from '../../lib/testing.js'
import { ScopeSet, scopeSetOf } from '../../lib/protocol/scopes.js'

// request.auth goes into responses and logs: its scopes must read as a list, not `{}`

t.test('a ScopeSet serializes as its list', async (t) => {
  t.equal(JSON.stringify(new ScopeSet(['me', 'items'])), '["me","items"]')
  const set = new ScopeSet(['me'])
  t.equal(scopeSetOf(set), set, 'a ScopeSet is kept as is')
  t.same(JSON.stringify(scopeSetOf(new Set(['me']))), '["me"]', 'a plain Set is copied')
})

t.test('request.auth of the password flow serializes with its scopes', async (t) => {
  const { app } = await buildApp({}, (app) => {
    app.get('/auth', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => JSON.parse(JSON.stringify(request.auth)) as unknown)
    app.get('/lazy', async (request) => {
      await request.currentUser()
      return { scopes: request.auth?.scopes }
    })
  })
  t.teardown(() => app.close())
  const token = await login(app, 'johndoe', 'me items')
  const response = await app.inject({ url: '/auth', headers: { authorization: `Bearer ${token}` } })
  t.equal(response.statusCode, 200)
  const body = response.json() as { scheme: string, scopes: unknown, principal: { id: string } }
  t.equal(body.scheme, 'OAuth2PasswordBearer')
  t.same(body.scopes, ['me', 'items'])
  t.equal(body.principal.id, 'johndoe')
  const lazy = await app.inject({ url: '/lazy', headers: { authorization: `Bearer ${token}` } })
  t.same(lazy.json(), { scopes: ['me', 'items'] }, 'also when currentUser() authenticated on demand')
})

t.test('an app scheme returning a plain Set still serializes as a list', async (t) => {
  const { app } = await buildApp({ securitySchemes: { Key: fakeApiKey(() => 'ApiKey') } }, (app) => {
    app.get('/any', { schema: { security: [{ Key: [] }, { OAuth2PasswordBearer: [] }] } }, async (request) => ({ scopes: request.auth?.scopes }))
    app.get('/sole', { schema: { security: [{ OAuth2PasswordBearer: ['me'] }] } }, async (request) => ({ scopes: request.auth?.scopes }))
  })
  t.teardown(() => app.close())
  const any = await app.inject({ url: '/any', headers: { 'x-api-key': 'good' } })
  t.same(any.json(), { scopes: [] })
  t.teardown(overrideScheme(app, 'OAuth2PasswordBearer', () => ({ principal: { id: 'x' }, scopes: new Set(['me']) })))
  const sole = await app.inject({ url: '/sole' })
  t.same(sole.json(), { scopes: ['me'] })
})
