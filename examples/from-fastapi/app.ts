import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import swagger from '@fastify/swagger'
import oauth2Password, { hashPassword, type UserAccount } from '../../lib/index.js'

// FastAPI's security tutorial (tutorial/security/: first steps, get current user, simple OAuth2
// with password and Bearer, OAuth2 with password hashing and JWT tokens), step by step, on the
// plugin. Each step names the tutorial's construct it replaces; docs/from-fastapi.md maps them all.

/** The tutorial's `User` model: what routes return, never the hash. */
export interface User {
  username: string
  email: string
  full_name: string
  disabled: boolean
}

// The tutorial's `UserInDB`: the user plus `hashed_password`, read only by the login
interface UserInDB extends User, Omit<UserAccount, 'disabled'> {}

declare module '../../lib/index.js' {
  interface OAuth2PasswordTypes {
    user: User
  }
}

/** `ACCESS_TOKEN_EXPIRE_MINUTES = 30`: the lifetime the tutorial configures for its logins. */
export const ACCESS_TOKEN_EXPIRE_MINUTES = 30
/** `create_access_token`'s default when no `expires_delta` is given: 15 minutes. */
export const DEFAULT_EXPIRE_MINUTES = 15

export interface FromFastApiOptions {
  /** `SECRET_KEY`: HS256, at least 32 bytes. */
  secretKey: string
  /** `ACCESS_TOKEN_EXPIRE_MINUTES`; left out, tokens get the tutorial's 15-minute default. */
  accessTokenExpireMinutes?: number
  /** bcrypt cost of the demo hashes and the login check (12 in production, 4 in tests). */
  bcryptCost: number
}

/** `fake_users_db`, with bcrypt hashes of "secret" (the tutorial's `pwd_context.hash`). */
async function fakeUsersDb (cost: number): Promise<Map<string, UserInDB>> {
  const passwordHash = await hashPassword('secret', { cost })
  const users: UserInDB[] = [
    { id: 'johndoe', username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false, passwordHash },
    { id: 'alice', username: 'alice', email: 'alice@example.com', full_name: 'Alice Wonderson', disabled: true, passwordHash }
  ]
  return new Map(users.map((user) => [user.username, user]))
}

// get_user(db, username), extended to a login by email: the form field keeps its OAuth2 name
function getUser (db: ReadonlyMap<string, UserInDB>, usernameOrEmail: string): UserInDB | null {
  return db.get(usernameOrEmail) ?? [...db.values()].find((user) => user.email === usernameOrEmail) ?? null
}

// The `User` model of a `UserInDB`: the hash stays behind
function publicUser ({ username, email, full_name: fullName, disabled }: UserInDB): User {
  return { username, email, full_name: fullName, disabled }
}

// The raw token, as `token: Annotated[str, Depends(oauth2_scheme)]` hands it over. The route's
// requirement has already checked it, and a header is the only place it is read from
function tokenFromHeader (request: FastifyRequest): string {
  return (request.headers.authorization as string).slice('Bearer '.length)
}

/**
 * Builds the tutorial's app: `POST /token` (the form login), `GET /items/` (guarded by the
 * password-flow bearer), `GET /users/me` and `GET /users/me/items/` (the current user).
 *
 * @example
 * const app = await buildFromFastApiApp({ secretKey, accessTokenExpireMinutes: ACCESS_TOKEN_EXPIRE_MINUTES, bcryptCost: 12 })
 */
export async function buildFromFastApiApp (options: FromFastApiOptions): Promise<FastifyInstance> {
  const { bcryptCost } = options
  const db = await fakeUsersDb(bcryptCost)
  const app = Fastify()
  await app.register(swagger, { openapi: { info: { title: 'FastAPI security tutorial, on Fastify', version: '1.0.0' } } })
  // oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token"), the /token path operation and create_access_token
  await app.register(oauth2Password, {
    secret: options.secretKey,
    tokenUrl: '/token',
    accessTokenTtl: `${options.accessTokenExpireMinutes ?? DEFAULT_EXPIRE_MINUTES}m`,
    bcrypt: { cost: bcryptCost },
    users: {
      // authenticate_user: the plugin checks the password with bcrypt and refuses disabled users
      findByUsername: (username) => getUser(db, username),
      // get_current_user: the token's subject back to the user
      findById: (id) => {
        const user = db.get(id)
        return user === undefined ? null : publicUser(user)
      }
    }
  })

  // First steps: `Depends(oauth2_scheme)` guards the route and hands over the token
  app.get('/items/', { schema: { security: [{ OAuth2PasswordBearer: [] }] } }, async function readItems (request) {
    return { token: tokenFromHeader(request) }
  })

  // get_current_active_user: a disabled user's token is refused before the handler
  app.get('/users/me', { schema: { security: app.oauth2.requirement() } }, async function readUsersMe (request) {
    return await request.currentUser()
  })

  app.get('/users/me/items/', { schema: { security: app.oauth2.requirement() } }, async function readOwnItems (request) {
    const currentUser = await request.currentUser()
    return [{ item_id: 'Foo', owner: currentUser.username }]
  })
  return app
}
