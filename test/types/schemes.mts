/**
 * Type fixture for the security schemes, typed principals and test helpers.
 * Checked by `tsc -p test/types/tsconfig.json`, never run. Every
 * `@ts-expect-error` line is a mistake the types must catch.
 *
 * No `principals` augmentation here: this program also holds augmentation.mts,
 * whose `request.auth` must stay untyped. The augmented form
 * (`interface OAuth2PasswordTypes { principals: … }`) resolves to the same
 * `AuthenticationOf<…>` union checked below.
 */
import type { FastifyRequest } from 'fastify'
import {
  apiKey,
  digestHa1,
  httpBasic,
  httpBearer,
  httpDigest,
  oauth2AuthorizationCode,
  openIdConnect,
  staticApiKeys,
  type Authentication,
  type AuthenticationOf,
  type RequestAuthentication,
  type CurrentUser,
  type SchemeFactory,
  type StaticKeyPrincipal
} from 'fastify-oauth2-password'
import { authenticateAs, overrideCurrentUser, overrideScheme } from 'fastify-oauth2-password/testing'

/** Compile-time equality: true only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
function expectType<T extends true> (): T | undefined {
  return undefined
}

// --- request.auth: untyped until the app declares principals ------------------

expectType<Equal<RequestAuthentication, Authentication>>()
function readAuth (request: FastifyRequest): RequestAuthentication | null {
  expectType<Equal<typeof request.auth, RequestAuthentication | null>>()
  return request.auth
}

// --- AuthenticationOf: the union request.auth becomes, narrowed by scheme ----

interface User { id: string, email: string }
type Principals = {
  OAuth2PasswordBearer: User
  ApiKey: { client: string }
  Digest: { username: string }
}

function narrow (auth: AuthenticationOf<Principals>): string {
  expectType<Equal<typeof auth.scheme, 'OAuth2PasswordBearer' | 'ApiKey' | 'Digest'>>()
  if (auth.scheme === 'ApiKey') {
    expectType<Equal<typeof auth.principal, { client: string }>>()
    return auth.principal.client
  }
  if (auth.scheme === 'OAuth2PasswordBearer') {
    // @ts-expect-error: a user has no client
    console.log(auth.principal.client)
    return auth.principal.email
  }
  // @ts-expect-error: 'Basic' is not a declared scheme, so it can never be the one
  if (auth.scheme === 'Basic') return ''
  expectType<Equal<typeof auth.principal, { username: string }>>()
  return auth.principal.username
}

// --- factories: options are checked, verify results typed ---------------------

const keys: SchemeFactory = apiKey({
  in: 'header',
  name: 'X-API-Key',
  verify: staticApiKeys({ 'demo-key-0123456789abcdef': { client: 'demo' } })
})
const listed = staticApiKeys(['demo-key-0123456789abcdef'])
expectType<Equal<ReturnType<typeof listed>, StaticKeyPrincipal | null>>()
const byKey = staticApiKeys({ 'demo-key-0123456789abcdef': { client: 'demo' } })
expectType<Equal<ReturnType<typeof byKey>, { client: string } | null>>()

// @ts-expect-error: an API key is in a header, query parameter or cookie
apiKey({ in: 'body', name: 'k', verify: () => null })
// @ts-expect-error: verify is required
apiKey({ in: 'query', name: 'k' })

apiKey<{ client: string }>({
  in: 'cookie',
  name: 'k',
  verify: async (key: string, request: FastifyRequest) => request.url === '/' ? { client: key } : null
})
apiKey<{ client: string }>({
  in: 'cookie',
  name: 'k',
  // @ts-expect-error: the principal must be what the scheme declares
  verify: () => ({ id: 1 })
})

const basic: SchemeFactory = httpBasic()
httpBasic({ realm: 'staff', verify: (userId: string, password: string) => userId === password ? { userId } : null })
// @ts-expect-error: realm is a string
httpBasic({ realm: 1 })

httpBearer({ bearerFormat: 'opaque', scopes: { reports: 'Read reports' }, verify: async (token: string) => ({ principal: token, scopes: ['reports'] }) })
// @ts-expect-error: verify returns { principal, scopes? }, not the principal alone
httpBearer({ verify: (token: string) => token })

httpDigest({ realm: 'api', algorithms: ['SHA-256', 'MD5'], nonceTtl: 300, findHa1: (username, realm, algorithm) => digestHa1(username, realm, 'secret', algorithm) })
// @ts-expect-error: SHA-512 is not a Digest algorithm here
httpDigest({ realm: 'api', algorithms: ['SHA-512'], findHa1: () => null })
// @ts-expect-error: realm is required (HA1 values are bound to it)
httpDigest({ findHa1: () => null })

openIdConnect({ openIdConnectUrl: 'https://idp.example/.well-known/openid-configuration', audience: 'api', scopes: { openid: '' } })
// @ts-expect-error: the audience is required (RFC 8725 §3.9)
openIdConnect({ openIdConnectUrl: 'https://idp.example/.well-known/openid-configuration' })

oauth2AuthorizationCode({ authorizationUrl: '/authorize', tokenUrl: '/token', scopes: {}, verify: () => null })
oauth2AuthorizationCode({ authorizationUrl: '/authorize', tokenUrl: '/token', scopes: {}, jwt: { jwksUri: 'https://idp.example/jwks', issuer: 'https://idp.example', algorithms: ['RS256'], audience: 'api' } })
// @ts-expect-error: a JWKS URL needs the issuer and algorithms too
oauth2AuthorizationCode({ authorizationUrl: '/authorize', tokenUrl: '/token', scopes: {}, jwt: { jwksUri: 'https://idp.example/jwks', audience: 'api' } })

// --- testing helpers -------------------------------------------------------------

declare const app: import('fastify').FastifyInstance
declare const user: CurrentUser
const headers: Promise<{ authorization: string }> = authenticateAs(app, { id: 'johndoe' }, ['me'])
const restore: () => void = overrideCurrentUser(app, user, ['me'])
// @ts-expect-error: the fake user must be the app's user type
overrideCurrentUser(app, 42)
overrideScheme<{ client: string }>(app, 'ApiKey', () => ({ principal: { client: 'test' }, scopes: [] }))
// @ts-expect-error: the fake principal must be what the override declares
overrideScheme<{ client: string }>(app, 'ApiKey', () => ({ principal: 42 }))

export { narrow, keys, basic, byKey, headers, listed, readAuth, restore }
