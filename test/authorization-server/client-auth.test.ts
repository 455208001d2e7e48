import { Buffer } from 'node:buffer'
import type { LightMyRequestResponse } from 'fastify'
import t, { type Test } from 'tap'
import { authenticateClient, secretsEqual, type ClientRegistry } from '../../lib/authorization-server/client-auth.js'
import type { FormParameters } from '../../lib/protocol/form-body.js'
import type { OAuth2PasswordOptions } from '../../lib/index.js'
import { buildApp, PASSWORD, postForm, type TestApp } from '../helpers/build-app.js'

// RFC 6749 §2.3: client authentication at the token endpoint, in the header (§2.3.1
// HTTP Basic with form-encoded id and secret) or in the body, never both.

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' }
const CHALLENGE = 'Basic realm="api", charset="UTF-8"'
const INVALID_CLIENT = { error: 'invalid_client', error_description: 'Client authentication failed' }
const CLIENTS = { web: {}, svc: { secret: 's3cr3t', grantTypes: ['password'] } }
const LOGIN = { username: 'johndoe', password: PASSWORD }

function basic (credentials: string | Buffer): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(credentials).toString('base64')}` }
}

function payloadOf (response: LightMyRequestResponse): Record<string, unknown> {
  const token = (response.json() as { access_token: string }).access_token
  return JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString('utf8'))
}

async function clientApp (t: Test, options: Partial<OAuth2PasswordOptions> = { clients: CLIENTS }): Promise<TestApp> {
  const built = await buildApp(options)
  t.teardown(() => built.app.close())
  return built
}

function assertIssued (t: Test, response: LightMyRequestResponse, clientId: string | undefined, message: string): void {
  t.equal(response.statusCode, 200, message)
  t.match(response.headers, NO_STORE)
  t.match(response.json(), { token_type: 'bearer', expires_in: 1800, scope: 'me items' })
  t.equal(payloadOf(response).client_id, clientId, `${message}: RFC 9068 client_id claim`)
}

function assertInvalidClient (t: Test, response: LightMyRequestResponse, message: string): void {
  t.equal(response.statusCode, 401, message)
  t.match(response.headers, NO_STORE, `${message}: no-store`)
  t.equal(response.headers['www-authenticate'], CHALLENGE, `${message}: RFC 6749 §5.2 Basic challenge`)
  t.same(response.json(), INVALID_CLIENT, `${message}: body`)
}

function assertBadRequest (t: Test, response: LightMyRequestResponse, body: unknown, message: string): void {
  t.equal(response.statusCode, 400, message)
  t.match(response.headers, NO_STORE, `${message}: no-store`)
  t.equal(response.headers['www-authenticate'], undefined, `${message}: no challenge`)
  t.same(response.json(), body, `${message}: body`)
}

t.test('without a clients option, client_id is accepted and ignored', async (t) => {
  const { app } = await clientApp(t, {})
  assertIssued(t, await postForm(app, LOGIN), undefined, 'no client')
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'anything' }), 'anything', 'any client_id')
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'swagger', client_secret: 'whatever' }), 'swagger', 'any secret')
  assertIssued(t, await postForm(app, LOGIN, basic('swagger-ui:')), 'swagger-ui', 'a Basic header with an empty secret (what Swagger UI sends)')
  assertIssued(t, await postForm(app, LOGIN, basic('swagger-ui:x')), 'swagger-ui', 'a Basic header with a secret')
  assertIssued(t, await postForm(app, LOGIN, { authorization: '' }), undefined, 'an empty Authorization header')
  assertIssued(t, await postForm(app, LOGIN, basic(':')), undefined, 'Swagger UI\'s Basic header with neither id nor secret counts as none')
})

t.test('without a clients option, malformed client credentials are still refused', async (t) => {
  const { app } = await clientApp(t, {})
  assertInvalidClient(t, await postForm(app, LOGIN, { authorization: 'Bearer abc' }), 'another scheme')
  assertInvalidClient(t, await postForm(app, LOGIN, { authorization: 'Basic !!!' }), 'bad base64')
  assertInvalidClient(t, await postForm(app, LOGIN, basic(':secret')), 'an empty client id')
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_secret: 'x' }), { error: 'invalid_request', error_description: 'The client_secret parameter needs client_id' }, 'a secret without an id')
})

t.test('a public client identifies itself with client_id', async (t) => {
  const { app } = await clientApp(t)
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'web' }), 'web', 'in the body')
  assertIssued(t, await postForm(app, LOGIN, basic('web:')), 'web', 'in a Basic header without secret')
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'web', client_secret: '' }), 'web', 'an empty client_secret is omitted (§3.1)')
})

t.test('§2.3.1: a confidential client authenticates with its secret, in the header or the body', async (t) => {
  const { app } = await clientApp(t)
  assertIssued(t, await postForm(app, LOGIN, basic('svc:s3cr3t')), 'svc', 'Basic header')
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'svc', client_secret: 's3cr3t' }), 'svc', 'body')
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'svc' }, basic('svc:s3cr3t')), 'svc', 'header plus the same client_id in the body')
  assertIssued(t, await postForm(app, LOGIN, { authorization: `bAsIc   ${Buffer.from('svc:s3cr3t').toString('base64')}` }), 'svc', 'scheme is case-insensitive')
})

t.test('§2.3.1: the id and secret are form-encoded inside the Basic credentials', async (t) => {
  const { app } = await clientApp(t, {
    clients: {
      'a:b c': { secret: 'p:q%3A+é' },
      colon: { secret: 'x:y' }
    }
  })
  assertIssued(t, await postForm(app, LOGIN, basic('a%3Ab+c:p%3Aq%253A%2B%C3%A9')), 'a:b c', 'everything encoded')
  assertIssued(t, await postForm(app, LOGIN, basic('colon:x%3Ay')), 'colon', 'a secret with an encoded colon')
  assertIssued(t, await postForm(app, LOGIN, basic('colon:x:y')), 'colon', 'a raw colon in the secret: only the first one splits')
  assertInvalidClient(t, await postForm(app, LOGIN, basic('a:b c:p:q%3A+é')), 'unencoded id with a colon does not match')
  assertInvalidClient(t, await postForm(app, LOGIN, basic('colon:x%3Ay%ZZ')), 'malformed encoding in the secret')
  assertInvalidClient(t, await postForm(app, LOGIN, basic('col%FFon:x%3Ay')), 'invalid UTF-8 in the id')
  assertIssued(t, await postForm(app, { ...LOGIN, client_id: 'colon', client_secret: 'x:y' }), 'colon', 'the body needs no extra encoding')
})

t.test('§5.2 invalid_client through the Authorization header: 401 with a Basic challenge', async (t) => {
  const { app } = await clientApp(t)
  const cases: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['wrong secret in the header', LOGIN, basic('svc:wrong')],
    ['unknown client in the header', LOGIN, basic('nobody:s3cr3t')],
    ['empty secret of a confidential client in the header', LOGIN, basic('svc:')],
    ['secret sent for a public client (header)', LOGIN, basic('web:x')],
    ['bad base64', LOGIN, { authorization: 'Basic !!!' }],
    ['non-canonical base64', LOGIN, { authorization: 'Basic c3ZjOnMzY3IzdA' }],
    ['no colon', LOGIN, basic('svc')],
    ['empty client id', LOGIN, basic(':s3cr3t')],
    ['non-UTF-8 credentials', LOGIN, basic(Buffer.from([0x73, 0x76, 0x63, 0x3a, 0xff]))],
    ['control character in the credentials', LOGIN, basic('svc:s3cr3t\n')],
    ['Basic without credentials', LOGIN, { authorization: 'Basic' }],
    ['Bearer instead of Basic', LOGIN, { authorization: 'Bearer s3cr3t' }],
    ['Digest instead of Basic', LOGIN, { authorization: 'Digest username="svc"' }]
  ]
  for (const [label, form, headers] of cases) assertInvalidClient(t, await postForm(app, form, headers), label)
})

t.test('§5.2 invalid_client through the body: 400 without a challenge (no browser login prompt)', async (t) => {
  const { app } = await clientApp(t)
  const cases: Array<[string, Record<string, string>]> = [
    ['wrong secret in the body', { ...LOGIN, client_id: 'svc', client_secret: 'wrong' }],
    ['secret with a different case', { ...LOGIN, client_id: 'svc', client_secret: 'S3CR3T' }],
    ['secret prefix', { ...LOGIN, client_id: 'svc', client_secret: 's3cr3' }],
    ['unknown client in the body', { ...LOGIN, client_id: 'nobody' }],
    ['client id from Object.prototype', { ...LOGIN, client_id: 'toString' }],
    ['client id __proto__', { ...LOGIN, client_id: '__proto__' }],
    ['missing secret of a confidential client', { ...LOGIN, client_id: 'svc' }],
    ['secret sent for a public client (body)', { ...LOGIN, client_id: 'web', client_secret: 'x' }],
    ['no client at all when clients are registered', LOGIN]
  ]
  for (const [label, form] of cases) assertBadRequest(t, await postForm(app, form), INVALID_CLIENT, label)
})

t.test('§2.3: one authentication method per request', async (t) => {
  const { app } = await clientApp(t)
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_secret: 's3cr3t' }, basic('svc:s3cr3t')),
    { error: 'invalid_request', error_description: 'Client credentials were sent both in the header and in the body' }, 'header and body secret')
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_id: 'svc', client_secret: 's3cr3t' }, basic('svc:s3cr3t')),
    { error: 'invalid_request', error_description: 'Client credentials were sent both in the header and in the body' }, 'header and body id + secret')
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_id: 'web' }, basic('svc:s3cr3t')),
    { error: 'invalid_request', error_description: 'The client_id parameter does not match the authenticated client' }, 'client_id mismatch')
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_secret: 's3cr3t' }),
    { error: 'invalid_request', error_description: 'The client_secret parameter needs client_id' }, 'a secret without an id')
})

t.test('§5.2 unauthorized_client: grantTypes restricts what a client may use', async (t) => {
  const { app } = await clientApp(t, { clients: { ...CLIENTS, refresher: { grantTypes: ['refresh_token'] }, none: { grantTypes: [] } } })
  const unauthorized = { error: 'unauthorized_client', error_description: 'The client is not allowed to use this grant type' }
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_id: 'refresher' }), unauthorized, 'password grant by a refresh-only client')
  assertBadRequest(t, await postForm(app, { ...LOGIN, client_id: 'none' }), unauthorized, 'a client with no grant')
  assertIssued(t, await postForm(app, { ...LOGIN, grant_type: 'password' }, basic('svc:s3cr3t')), 'svc', 'allowed grant')
  assertInvalidClient(t, await postForm(app, LOGIN, basic('refresher:x')), 'authentication is checked before the grant type')
})

t.test('client authentication comes before the grant: a bad client never learns about users', async (t) => {
  const { app } = await clientApp(t)
  assertInvalidClient(t, await postForm(app, { username: 'nobody', password: 'wrong' }, basic('svc:wrong')), 'unknown user')
  assertInvalidClient(t, await postForm(app, { grant_type: 'client_credentials' }, basic('svc:wrong')), 'unsupported grant')
})

t.test('the challenge carries the configured realm', async (t) => {
  const { app } = await clientApp(t, { clients: CLIENTS, realm: 'Items API' })
  const response = await postForm(app, LOGIN, basic('svc:wrong'))
  t.equal(response.statusCode, 401)
  t.equal(response.headers['www-authenticate'], 'Basic realm="Items API", charset="UTF-8"')
})

t.test('authenticateClient (unit)', async (t) => {
  const registry: ClientRegistry = CLIENTS
  const form = (parameters: Record<string, string>): FormParameters => Object.assign(Object.create(null), parameters)
  t.equal(authenticateClient(undefined, form({}), undefined, 'password'), null, 'no client, no registry')
  t.same(authenticateClient(undefined, form({ client_id: 'x' }), undefined, 'password'), { id: 'x' })
  t.same(authenticateClient(undefined, form({ client_id: 'svc', client_secret: 's3cr3t' }), registry, 'password'), { id: 'svc' })
  t.same(authenticateClient(undefined, form({ client_id: 'svc', client_secret: 's3cr3t' }), registry, null), { id: 'svc' }, 'no grant type (revocation): grantTypes not checked')
  t.same(authenticateClient(undefined, form({ client_id: 'web' }), registry, 'refresh_token'), { id: 'web' }, 'no grantTypes: every grant')
  t.throws(() => authenticateClient(undefined, form({ client_id: 'svc', client_secret: 's3cr3t' }), registry, 'refresh_token'), { code: 'FST_OAUTH2_UNAUTHORIZED_CLIENT', statusCode: 400, error: 'unauthorized_client' })
  t.throws(() => authenticateClient(undefined, form({}), registry, null), { code: 'FST_OAUTH2_INVALID_CLIENT', statusCode: 400, error: 'invalid_client' })
  t.throws(() => authenticateClient('Basic', form({}), undefined, null), { code: 'FST_OAUTH2_INVALID_CLIENT' })
})

t.test('secretsEqual compares whole values of any length', async (t) => {
  t.equal(secretsEqual('s3cr3t', 's3cr3t'), true)
  t.equal(secretsEqual('', ''), true)
  t.equal(secretsEqual('é', 'é'), true)
  t.equal(secretsEqual('s3cr3t', 's3cr3T'), false)
  t.equal(secretsEqual('s3cr3t', 's3cr3t '), false, 'different lengths')
  t.equal(secretsEqual('', 's3cr3t'), false)
  t.equal(secretsEqual('e\u0301', 'é'), false, 'no Unicode normalisation')
})
