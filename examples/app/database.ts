import Database from 'better-sqlite3'
import { hashPassword, type PasswordHashingOptions, type UserAccount } from '../../lib/index.js'

/**
 * A user as the API shows it: the FastAPI tutorial's `User` model. It has no
 * password hash: that column is read only by {@link UserDatabase.findAccount}.
 */
export interface User {
  username: string
  email: string | null
  full_name: string | null
  disabled: boolean
}

/** The users table, as the example's routes and the plugin need it. */
export interface UserDatabase {
  /** The login view of a user (the plugin's `findByUsername`): id, hash, scopes, disabled. */
  findAccount (username: string): UserAccount | null
  /** The public view of a user (the plugin's `findById`: a user's id is the username). */
  findUser (username: string): User | null
  /** Stores a fresh hash (the plugin's `onRehash`, after `BCRYPT_COST` was raised or `PASSWORD_HASH` changed). */
  updatePasswordHash (username: string, passwordHash: string): void
  /** Closes the file; calling it again does nothing. */
  close (): void
}

/** Options of {@link openUserDatabase}. */
export interface UserDatabaseOptions {
  /** How the demo users' passwords are hashed when the table is first seeded: `{ cost }` (bcrypt) or `{ algorithm: 'argon2id' }`. */
  hashing: PasswordHashingOptions
}

interface AccountRow {
  username: string
  hashed_password: string
  scopes: string
  disabled: number
}

interface UserRow {
  username: string
  email: string | null
  full_name: string | null
  disabled: number
}

// The FastAPI tutorial's fake_users_db, with the scopes its OAuth2 scopes chapter grants
const DEMO_USERS = [
  { username: 'johndoe', full_name: 'John Doe', email: 'johndoe@example.com', password: 'secret', scopes: 'me items', disabled: 0 },
  { username: 'alice', full_name: 'Alice Wonderson', email: 'alice@example.com', password: 'secret', scopes: 'me items', disabled: 1 }
] as const

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    full_name TEXT,
    email TEXT,
    hashed_password TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
  ) STRICT
`

async function seed (db: Database.Database, hashing: PasswordHashingOptions): Promise<void> {
  // Seed only an empty table: a later start keeps the users (and hashes) that are there
  if (db.prepare('SELECT 1 FROM users LIMIT 1').all().length > 0) return
  const rows = await Promise.all(DEMO_USERS.map(async ({ password, ...user }) => ({
    ...user,
    hashed_password: await hashPassword(password, hashing)
  })))
  const insert = db.prepare<[typeof rows[number]], unknown>(`
    INSERT OR IGNORE INTO users (username, full_name, email, hashed_password, scopes, disabled)
    VALUES (@username, @full_name, @email, @hashed_password, @scopes, @disabled)
  `)
  // OR IGNORE and one transaction: two servers starting on a fresh file seed it once
  db.transaction(() => { for (const row of rows) insert.run(row) })()
}

/**
 * Opens (or creates) the SQLite users table at `file` (`:memory:` for a private
 * in-memory one). On first use the table is created and seeded with the demo
 * users `johndoe` (scopes `me items`) and `alice` (disabled), both with the
 * password `secret` hashed as `hashing` says; later opens keep what is there.
 *
 * @example
 * const users = await openUserDatabase(':memory:', { hashing: { cost: 4 } })
 * users.findUser('johndoe') // { username: 'johndoe', email: 'johndoe@example.com', full_name: 'John Doe', disabled: false }
 */
export async function openUserDatabase (file: string, options: UserDatabaseOptions): Promise<UserDatabase> {
  const db = new Database(file)
  try {
    // WAL lets readers (every authenticated request) proceed while a rehash writes
    db.pragma('journal_mode = WAL')
    db.exec(SCHEMA)
    await seed(db, options.hashing)
  } catch (error) {
    db.close()
    throw error
  }

  const selectAccount = db.prepare<[string], AccountRow>('SELECT username, hashed_password, scopes, disabled FROM users WHERE username = ?')
  const selectUser = db.prepare<[string], UserRow>('SELECT username, email, full_name, disabled FROM users WHERE username = ?')
  const updateHash = db.prepare<[string, string], unknown>('UPDATE users SET hashed_password = ? WHERE username = ?')

  return {
    findAccount (username) {
      const row = selectAccount.get(username)
      if (row === undefined) return null
      return {
        id: row.username,
        passwordHash: row.hashed_password,
        scopes: row.scopes.split(' ').filter((scope) => scope !== ''),
        disabled: row.disabled === 1
      }
    },
    findUser (username) {
      const row = selectUser.get(username)
      if (row === undefined) return null
      return { username: row.username, email: row.email, full_name: row.full_name, disabled: row.disabled === 1 }
    },
    updatePasswordHash (username, passwordHash) {
      updateHash.run(passwordHash, username)
    },
    close () {
      if (db.open) db.close()
    }
  }
}
