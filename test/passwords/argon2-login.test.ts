import t from 'tap'
import Fastify from 'fastify'
import { buildApp, PASSWORD, postForm, SECRET } from '../helpers/build-app.js'
import { Argon2UnavailableError, type OAuth2PasswordOptions, type UserAccount } from '../../lib/index.js'
import * as argon2 from '../../lib/passwords/argon2.js'
import { hashPassword } from '../../lib/passwords/password-hashing.js'

type PluginModule = typeof import('../../lib/index.js')

// Small Argon2id parameters keep the suite fast; the defaults are OWASP's
const ARGON2 = { algorithm: 'argon2id', memoryCost: 64, timeCost: 1, parallelism: 1 } as const

function argon2App (options: Partial<OAuth2PasswordOptions> = {}) {
  return buildApp({ bcrypt: undefined, passwordHashing: ARGON2, throttling: false, ...options })
}

t.test('with Argon2id configured, a bcrypt hash is replaced on the next successful login through onRehash', async (t) => {
  const rehashed: Array<[UserAccount, string]> = []
  const { app, users } = await argon2App({ onRehash: (account, hash) => { rehashed.push([account, hash]) } })
  t.teardown(() => app.close())
  t.match(users.get('johndoe')?.passwordHash, /^\$2b\$04\$/, 'seeded with bcrypt')

  t.equal((await postForm(app, { username: 'johndoe', password: 'wrong' })).statusCode, 400)
  t.equal((await postForm(app, { username: 'alice', password: PASSWORD })).statusCode, 400, 'disabled')
  t.equal(rehashed.length, 0, 'never after a failed login or for a disabled account')

  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD })).statusCode, 200)
  t.equal(rehashed.length, 1)
  const [account, hash] = rehashed[0] as [UserAccount, string]
  t.equal(account.id, 'johndoe')
  t.match(hash, /^\$argon2id\$v=19\$m=64,t=1,p=1\$/)
  users.set('johndoe', { ...users.get('johndoe')!, passwordHash: hash })

  t.equal((await postForm(app, { username: 'johndoe', password: PASSWORD })).statusCode, 200, 'the Argon2id hash verifies')
  t.equal(rehashed.length, 1, 'and is not replaced again')
  t.match(await app.oauth2.hashPassword(PASSWORD), /^\$argon2id\$/, 'app.oauth2.hashPassword uses the configured algorithm')
})

t.test('with bcrypt configured, an Argon2id hash verifies and is replaced by bcrypt', async (t) => {
  const rehashed: string[] = []
  const { app, users } = await buildApp({ onRehash: (_account, hash) => { rehashed.push(hash) } })
  t.teardown(() => app.close())
  users.set('bob', { ...users.get('bob')!, passwordHash: await hashPassword(PASSWORD, ARGON2) })
  t.equal((await postForm(app, { username: 'bob', password: 'wrong' })).statusCode, 400)
  t.equal((await postForm(app, { username: 'bob', password: PASSWORD })).statusCode, 200)
  t.match(rehashed, [/^\$2b\$04\$/])
})

t.test('the 72-byte rule applies to bcrypt only', async (t) => {
  const long = 'correct horse battery staple '.repeat(4)
  const { app, users } = await argon2App()
  t.teardown(() => app.close())
  t.equal((await postForm(app, { username: 'bob', password: long })).statusCode, 400, 'a bcrypt hash cannot match it')
  t.equal((await postForm(app, { username: 'bob', password: long })).json().error, 'invalid_grant')
  users.set('bob', { ...users.get('bob')!, passwordHash: await hashPassword(long, ARGON2) })
  t.equal((await postForm(app, { username: 'bob', password: long })).statusCode, 200, 'an Argon2id hash can')

  const { app: bcryptApp } = await buildApp()
  t.teardown(() => bcryptApp.close())
  const refused = await postForm(bcryptApp, { username: 'bob', password: long })
  t.same(refused.json(), { error: 'invalid_request', error_description: 'The password parameter is longer than 72 bytes' })
})

t.test('Argon2id configured without @node-rs/argon2 fails register() with FST_OAUTH2_ARGON2_UNAVAILABLE', async (t) => {
  const { default: plugin } = await t.mockImport<PluginModule>('../../lib/index.js', {
    '../../lib/passwords/argon2.js': {
      ...argon2,
      loadArgon2: async () => { throw new Argon2UnavailableError('ERR_MODULE_NOT_FOUND') }
    }
  })
  const app = Fastify()
  t.teardown(() => app.close())
  await t.rejects(async () => {
    await app.register(plugin, { secret: SECRET, passwordHashing: { algorithm: 'argon2id' }, users: { findByUsername: () => null, findById: () => null } })
  }, { code: 'FST_OAUTH2_ARGON2_UNAVAILABLE', statusCode: 500, message: /npm i @node-rs\/argon2/ })
})
