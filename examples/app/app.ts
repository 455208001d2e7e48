import type { Server } from 'node:http'
import Fastify, { LogController, type FastifyHttpOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import oauth2Password, { apiKey, httpBasic, redisTokenStore, staticApiKeys, type PasswordHashingOptions, type TokenStore } from '../../lib/index.js'
import { openUserDatabase, type User } from './database.js'
import { clientErrorSchema, itemsSchema, statusSchema, userSchema } from './schemas.js'

// The app names its user and scope types once; request.currentUser() and
// app.oauth2.requirement() are typed with them (a published app writes
// `declare module 'fastify-oauth2-password'`).
declare module '../../lib/index.js' {
  interface OAuth2PasswordTypes {
    user: User
    scopes: keyof typeof SCOPES
  }
}

// The events of refused requests (a bad password over the token endpoint, Basic or Digest, a throttled
// attempt, a bad token, a missing scope): cheap to cause one per request, so logged at debug as the
// plugin logs the refusals themselves. Successes, revocations and reuse detections stay at info
const REFUSAL_EVENTS: ReadonlySet<string> = new Set(['authn_login_fail', 'authn_login_lock', 'authn_token_invalid', 'authz_fail'])

/** What {@link buildExampleApp} needs; {@link ExampleConfig} from `readConfig()` has it all. */

export interface ExampleAppConfig {
  /** HS256 secret, at least 32 bytes. */
  jwtSecret: string
  /** bcrypt cost of new hashes and of the login check (with `passwordHash` bcrypt). */
  bcryptCost: number
  /** The algorithm of new hashes: `bcrypt` (default) or `argon2id` (OWASP parameters); stored hashes of either verify. */
  passwordHash?: 'bcrypt' | 'argon2id'
  /** SQLite file, or `:memory:`. */
  database: string
  /** Fastify's `logger` option. Default `false`. */
  logger?: FastifyServerOptions['logger']
  /** Redis for refresh tokens and revocations, so several instances share them. Default: in memory. */
  redisUrl?: string | undefined
  /** Redis Cluster seed nodes (`host:port`), instead of `redisUrl`. */
  redisCluster?: readonly string[] | undefined
}

/** The API key `GET /reports` accepts in `X-API-Key` (a demo: real keys come from configuration). */
export const DEMO_API_KEY = 'demo-key-0123456789abcdef'

/** `GET /reports`. */
const reportsSchema = {
  description: 'The reports, and the scheme that authenticated the request',
  type: 'object',
  properties: {
    reports: { type: 'array', items: { type: 'object', properties: { report_id: { type: 'string' }, title: { type: 'string' } }, required: ['report_id', 'title'] } },
    authenticated_by: { type: 'string' }
  },
  required: ['reports', 'authenticated_by']
} as const

/** The FastAPI tutorial's scopes. */
export const SCOPES = {
  me: 'Read information about the current user.',
  items: 'Read items.'
} as const

/**
 * Logs what goes wrong (5xx with their error; refusals only at debug), not every request:
 * Fastify's per-request "incoming request" and "request completed" lines are dropped.
 */
class ErrorLogController extends LogController {
  override incomingRequest (): void {}
  override requestCompleted (): void {}
}

/**
 * Fastify server options of the example, shared with the benchmark's baseline
 * app so both pay the same per-request costs.
 */
export function serverOptions (logger: FastifyServerOptions['logger'] = false) {
  return {
    logger,
    logController: new ErrorLogController(),
    // A client has 10 s to send its whole request (slow-loris bodies are cut)…
    requestTimeout: 10_000,
    // …its headers included (Node's default is 60 s), and Node checks both every 2 s (its default,
    // 30 s, let a body trickled at one byte a second hold the token route for about a minute)
    http: { headersTimeout: 10_000, connectionsCheckingInterval: 2_000 },
    // …and a socket idle for 30 s is closed, longer than the worst bcrypt queue wait (~8 s)
    connectionTimeout: 30_000,
    // JSON bodies of this API are tiny; the token route keeps its own 4 KiB limit
    bodyLimit: 16 * 1024
  } satisfies FastifyHttpOptions<Server>
}

/**
 * Builds the example app: the FastAPI "OAuth2 scopes" tutorial on this plugin,
 * with its users in SQLite and Swagger UI at `/docs`. Not listening yet; closing
 * it closes the database.
 *
 * @example
 * const app = await buildExampleApp({ jwtSecret, bcryptCost: 12, database: ':memory:' })
 * await app.listen({ port: 3000, host: '127.0.0.1' })
 */
// Redis when configured (a Cluster by its seed nodes, or one server), its warnings in the app's log
async function sharedStore (app: FastifyInstance, config: ExampleAppConfig): Promise<{ store?: TokenStore }> {
  const onWarning = (message: string): void => { app.log.warn(message) }
  /* c8 ignore next: the Cluster case runs in test/e2e/redis-cluster-example.test.ts, a spawned process that records no coverage */
  if (config.redisCluster !== undefined) return { store: await redisTokenStore({ nodes: config.redisCluster, onWarning }) }
  if (config.redisUrl !== undefined) return { store: await redisTokenStore({ url: config.redisUrl, onWarning }) }
  return {}
}

function passwordHashing (config: ExampleAppConfig): PasswordHashingOptions {
  return config.passwordHash === 'argon2id' ? { algorithm: 'argon2id' } : { cost: config.bcryptCost }
}

export async function buildExampleApp (config: ExampleAppConfig): Promise<FastifyInstance> {
  const hashing = passwordHashing(config)
  const users = await openUserDatabase(config.database, { hashing })
  const app = Fastify(serverOptions(config.logger))
  app.addHook('onClose', async function closeDatabase () {
    users.close()
  })

  try {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'fastify-oauth2-password example',
          description: 'The FastAPI "OAuth2 scopes" tutorial on Fastify. Log in with johndoe / secret through Authorize.',
          version: '1.0.0',
          license: { name: 'MIT', identifier: 'MIT' }
        },
        // Relative: the document works wherever the server listens (PORT, HOST, a proxy)
        servers: [{ url: '/', description: 'This server' }],
        tags: [
          { name: 'OAuth2', description: 'The token and revocation endpoints the plugin adds (RFC 6749, RFC 7009)' },
          { name: 'users', description: 'The current user and what it owns (password-flow tokens, HTTP Basic)' },
          { name: 'service', description: 'Service status, reports and liveness' }
        ]
      }
    })
    await app.register(oauth2Password, {
      secret: config.jwtSecret,
      tokenUrl: '/token',
      accessTokenTtl: '30m',
      scopes: SCOPES,
      passwordHashing: hashing,
      // The other fastapi.security schemes, on their own routes: an API key and HTTP Basic
      securitySchemes: {
        ApiKey: apiKey({ in: 'header', name: 'X-API-Key', description: `Demo key: ${DEMO_API_KEY}`, verify: staticApiKeys({ [DEMO_API_KEY]: { client: 'demo' } }) }),
        Basic: httpBasic({ description: 'The demo users, e.g. johndoe / secret' })
      },
      users: {
        findByUsername: (username) => users.findAccount(username),
        // A token's subject is the username
        findById: (username) => users.findUser(username),
        // The account policy's source after login: a refresh narrows to the scopes held now
        findAccountById: (username) => users.findAccount(username)
      },
      // A login whose hash predates a raised BCRYPT_COST or a change of PASSWORD_HASH gets a fresh one
      onRehash: (account, passwordHash) => users.updatePasswordHash(account.id, passwordHash),
      // Rotating refresh tokens, POST /revoke, and revoked access tokens refused on every instance
      refreshTokens: true,
      revocation: { checkAccessTokens: true },
      // Every security event (OWASP Logging Vocabulary) as one JSON log line with an `event` field;
      // pino stamps its own `time`, so the event's is left out. Refused requests are logged at
      // debug: one line per refusal at info would let anyone fill the disk
      onSecurityEvent: ({ time, ...fields }, request) => {
        if (REFUSAL_EVENTS.has(fields.event)) request.log.debug(fields, 'security event')
        else request.log.info(fields, 'security event')
      },
      ...(await sharedStore(app, config))
    })
  } catch (error) {
    users.close()
    throw error
  }

  // app.oauth2.requirement('me') is [{ OAuth2PasswordBearer: ['me'] }]: the OpenAPI
  // security requirement, enforced as declared
  app.get('/users/me', {
    schema: {
      summary: 'The current user',
      operationId: 'readUsersMe',
      tags: ['users'],
      security: app.oauth2.requirement('me'),
      response: { 200: userSchema }
    }
  }, async function readUsersMe (request) {
    return await request.currentUser()
  })

  app.get('/users/me/items', {
    schema: {
      summary: 'Items of the current user',
      operationId: 'readOwnItems',
      tags: ['users'],
      security: app.oauth2.requirement('me', 'items'),
      response: { 200: itemsSchema }
    }
  }, async function readOwnItems (request) {
    const user = await request.currentUser()
    return [{ item_id: 'Foo', owner: user.username }]
  })

  app.get('/status', {
    schema: {
      summary: 'Any valid token',
      operationId: 'readSystemStatus',
      tags: ['service'],
      security: app.oauth2.requirement(),
      response: { 200: statusSchema }
    }
  }, async function readSystemStatus () {
    return { status: 'ok' }
  })

  // Any of: an API key, or a password-flow token with scope "items"
  app.get('/reports', {
    schema: {
      summary: 'Reports (API key or token with scope "items")',
      operationId: 'readReports',
      tags: ['service'],
      security: [{ ApiKey: [] }, ...app.oauth2.requirement('items')],
      response: { 200: reportsSchema }
    }
  }, async function readReports (request) {
    return { reports: [{ report_id: 'Q1', title: 'Quarterly sales' }], authenticated_by: request.auth!.scheme } // set: the route's requirement ran first
  })

  // HTTP Basic against the same users and bcrypt hashes as the token endpoint
  app.get('/basic/me', {
    schema: {
      summary: 'The current user, over HTTP Basic',
      operationId: 'readBasicMe',
      tags: ['users'],
      security: [{ Basic: [] }],
      response: { 200: userSchema }
    }
  }, async function readBasicMe (request) {
    return await request.currentUser()
  })

  app.get('/health', {
    schema: {
      summary: 'Liveness probe (public)',
      operationId: 'health',
      tags: ['service'],
      // Public even under a plugin-wide `security` default, and documented as such
      security: [],
      response: { 200: statusSchema, '4xx': clientErrorSchema }
    }
  }, async function health () {
    return { status: 'ok' }
  })

  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { persistAuthorization: true } })
  return app
}
