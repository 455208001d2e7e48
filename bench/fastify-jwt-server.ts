import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify'
import createError from '@fastify/error'
import fastifyJwt from '@fastify/jwt'
import { serverOptions } from '../examples/app/app.js'
import { readConfig } from '../examples/app/config.js'
import { openUserDatabase } from '../examples/app/database.js'
import { statusSchema, userSchema } from '../examples/app/schemas.js'

// The baseline of measurement (c): GET /users/me written by hand on @fastify/jwt, as its
// README shows (an onRequest hook calling request.jwtVerify()), then the scope check and
// the user lookup a FastAPI port needs. Same server options, users table and response
// schema as the example server, so the difference is the authentication code alone.
// GET /users/johndoe answers the same without any authentication: the ceiling for any of it.

interface Claims {
  sub: string
  scope: string
}

const InvalidToken = createError('BENCH_INVALID_TOKEN', 'Invalid token', 401)
const InactiveUser = createError('BENCH_INACTIVE_USER', 'Inactive user', 401)
const NotEnoughPermissions = createError('BENCH_INSUFFICIENT_SCOPE', 'Not enough permissions', 403)

function isClaims (value: unknown): value is Claims {
  const claims = value as Partial<Claims> | null
  return typeof claims?.sub === 'string' && typeof claims.scope === 'string'
}

const config = readConfig(process.env)
const users = await openUserDatabase(config.database, { hashing: { cost: config.bcryptCost } })
const app = Fastify(serverOptions({ level: 'info' }))
app.addHook('onClose', async function closeDatabase () {
  users.close()
})
await app.register(fastifyJwt, { secret: config.jwtSecret })

async function authenticate (request: FastifyRequest, reply: FastifyReply): Promise<void> {
  try {
    await request.jwtVerify()
  } catch (err) {
    reply.send(err)
  }
}

app.get('/users/me', { onRequest: [authenticate], schema: { response: { 200: userSchema } } }, async function readUsersMe (request) {
  const claims = request.user
  if (!isClaims(claims)) throw new InvalidToken()
  if (!claims.scope.split(' ').includes('me')) throw new NotEnoughPermissions()
  const user = users.findUser(claims.sub)
  if (user === null || user.disabled) throw new InactiveUser()
  return user
})

// The same lookup and answer without authentication: the ceiling for any authentication code
app.get('/users/johndoe', { schema: { response: { 200: userSchema } } }, async function readJohnDoe () {
  return users.findUser('johndoe')
})

app.get('/health', { schema: { response: { 200: statusSchema } } }, async function health () {
  return { status: 'ok' }
})

process.on('SIGTERM', function closeOnSignal () {
  app.close().catch((error: unknown) => {
    app.log.error({ err: error }, 'baseline server did not close cleanly')
    process.exitCode = 1
  })
})

await app.listen({ port: config.port, host: config.host, listenTextResolver: (address) => `Baseline server on ${address}` })
