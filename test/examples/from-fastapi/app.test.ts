import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { ACCESS_TOKEN_EXPIRE_MINUTES, buildFromFastApiApp, DEFAULT_EXPIRE_MINUTES } from '../../../examples/from-fastapi/app.js'
import { accessTokensWith } from '../../helpers/access-tokens.js'

// examples/from-fastapi driven as FastAPI's security tutorial drives its app, step by step

const SECRET_KEY = 'from-fastapi-test-secret-of-at-least-32-bytes'
const JOHNDOE = { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false }
const INVALID_GRANT = { error: 'invalid_grant', error_description: 'Incorrect username or password' }

async function tutorialApp (t: Test, accessTokenExpireMinutes?: number): Promise<FastifyInstance> {
  const app = await buildFromFastApiApp({ secretKey: SECRET_KEY, bcryptCost: 4, ...(accessTokenExpireMinutes === undefined ? {} : { accessTokenExpireMinutes }) })
  t.teardown(() => app.close())
  return app
}

async function postToken (app: FastifyInstance, username: string, password = 'secret'): Promise<LightMyRequestResponse> {
  return await app.inject({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ username, password }).toString() })
}

async function bearer (app: FastifyInstance, url: string, token: string): Promise<LightMyRequestResponse> {
  return await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
}

/** The token's lifetime in minutes, from its own claims. */
function lifetimeMinutes (app: FastifyInstance, token: string): number {
  const { exp, iat } = app.oauth2.verifyAccessToken(token)
  return (exp - iat) / 60
}

t.test('first steps: /items/ is refused without a token, with WWW-Authenticate: Bearer', async (t) => {
  const app = await tutorialApp(t, ACCESS_TOKEN_EXPIRE_MINUTES)
  const response = await app.inject('/items/')
  t.equal(response.statusCode, 401)
  t.match(response.headers['www-authenticate'], /^Bearer\b/)
  t.equal(response.json().message, 'Not authenticated')
})

t.test('a form login by username or by email; /items/ reads the token from the header; /users/me', async (t) => {
  const app = await tutorialApp(t, ACCESS_TOKEN_EXPIRE_MINUTES)
  for (const username of ['johndoe', 'johndoe@example.com']) {
    const login = await postToken(app, username)
    t.equal(login.statusCode, 200, `login as ${username}`)
    const { access_token: token, token_type: type, expires_in: expiresIn } = login.json() as { access_token: string, token_type: string, expires_in: number }
    t.same([type, expiresIn], ['bearer', 30 * 60])
    t.same((await bearer(app, '/items/', token)).json(), { token })
    t.same((await bearer(app, '/users/me', token)).json(), JOHNDOE, 'the User model, without hashed_password')
    t.same((await bearer(app, '/users/me/items/', token)).json(), [{ item_id: 'Foo', owner: 'johndoe' }])
  }
})

t.test('JWTs expire after the configured 30 minutes, or the tutorial\'s 15-minute default', async (t) => {
  const configured = await tutorialApp(t, ACCESS_TOKEN_EXPIRE_MINUTES)
  t.equal(lifetimeMinutes(configured, (await postToken(configured, 'johndoe')).json().access_token), 30)
  const byDefault = await tutorialApp(t)
  t.equal(DEFAULT_EXPIRE_MINUTES, 15)
  t.equal(lifetimeMinutes(byDefault, (await postToken(byDefault, 'johndoe')).json().access_token), 15)
})

t.test('authenticate_user refuses a wrong password, an unknown user and a disabled one alike', async (t) => {
  const app = await tutorialApp(t, ACCESS_TOKEN_EXPIRE_MINUTES)
  for (const [username, password] of [['johndoe', 'wrong'], ['nobody', 'secret'], ['alice', 'secret']] as const) {
    const response = await postToken(app, username, password)
    t.same([response.statusCode, response.json()], [400, INVALID_GRANT], `${username} / ${password}`)
  }
})

t.test('get_current_user refuses a token whose user is gone', async (t) => {
  const app = await tutorialApp(t, ACCESS_TOKEN_EXPIRE_MINUTES)
  const { token } = accessTokensWith({ secret: SECRET_KEY, ttlSeconds: 60 }).sign('ghost', [])
  const response = await bearer(app, '/users/me', token)
  t.equal(response.statusCode, 401)
  t.match(response.headers['www-authenticate'], /^Bearer realm="api", error="invalid_token"/)
})
