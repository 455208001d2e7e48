import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import * as catalogue from '../../lib/errors.js'
import { isErrorDescription, toErrorDescription } from '../../lib/protocol/error-description.js'
import { formatChallenge } from '../../lib/protocol/challenge.js'
import { buildApp, postForm } from '../helpers/build-app.js'

// Issue 8 §4: every error_description anywhere (token, revoke, challenges) uses only
// RFC 6749 §5.2's characters: %x20-21 / %x23-5B / %x5D-7E.

const PROTOCOL_ERRORS = new Set([
  'InvalidRequestError', 'InvalidClientError', 'InvalidGrantError', 'UnauthorizedClientError', 'UnsupportedGrantTypeError',
  'InvalidScopeError', 'UnsupportedTokenTypeError', 'TemporarilyUnavailableError', 'MissingCredentialsError',
  'MalformedCredentialsError', 'InvalidTokenError', 'InvalidCredentialsError', 'InsufficientScopeError',
  'AuthenticationUnavailableError', 'StaleNonceError'
])

function sourceFiles (directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })
}

// A message with `${…}` placeholders, as the charset sees it once filled with plain words
function literalText (literal: string): string {
  return literal.slice(1, -1).replace(/\$\{[^}]*\}/g, 'x').replace(/\\'/g, "'")
}

t.test('every message the catalogue can produce is in the set: defaults and every literal in lib/', async (t) => {
  for (const name of PROTOCOL_ERRORS) {
    const ErrorClass = (catalogue as unknown as Record<string, new (message?: string) => Error>)[name]
    t.ok(ErrorClass, name)
    const message = new (ErrorClass as new (message?: string) => Error)('Sample').message
    t.ok(isErrorDescription(message), `${name}: ${message}`)
  }
  // Literals handed to a protocol error, and the named messages and description tables they use
  const literal = /(['`])(?:(?!\1)[^\\]|\\.)*\1/g
  let checked = 0
  for (const file of sourceFiles('lib')) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const protocol = [...PROTOCOL_ERRORS].some((name) => line.includes(`new ${name}(`))
      const named = /^const [A-Z_]+ = ['`]/.test(line) || /^\s+\[TOKEN_ERROR_CODES\./.test(line)
      if (!protocol && !named) continue
      for (const match of line.matchAll(literal)) {
        const text = literalText(match[0])
        if (!/^[A-Z]/.test(text)) continue // regexes, codes and keys, not messages
        checked++
        t.ok(isErrorDescription(text), `${file}: ${text}`)
      }
    }
  }
  t.ok(checked > 40, `${checked} messages checked`)
})

t.test('property: whatever an app puts in a catalogue error, the rendering is in the set', async (t) => {
  let seed = 7
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31
  const samples = ['The "scope" is bad', 'back\\slash', 'ünïcödé', 'tab\there', 'new\nline', '', '😀', '\u0000\u007f']
  for (let index = 0; index < 500; index++) {
    samples.push(Array.from({ length: 1 + Math.floor(random() * 20) }, () => String.fromCodePoint(Math.floor(random() * 0x2FFF))).join(''))
  }
  // One assertion over all samples: their text in test names would be no valid TAP
  const broken = samples.filter((sample) => {
    const challenge = formatChallenge('Bearer', { realm: 'api', error: 'invalid_token', error_description: sample })
    return !isErrorDescription(toErrorDescription(sample)) || !isErrorDescription(/error_description="(.*)"$/.exec(challenge)?.[1] ?? '')
  })
  t.same(broken.map((sample) => [...sample].map((character) => character.codePointAt(0))), [], `${samples.length} samples`)
  t.equal(toErrorDescription('The "scope" is bad'), "The 'scope' is bad")
  t.equal(toErrorDescription('Already fine'), 'Already fine', 'valid text is kept as it is')
})

t.test('the token and revoke endpoints render an app\'s catalogue error in the set', async (t) => {
  const { app } = await buildApp({
    refreshTokens: true,
    users: { findByUsername: () => { throw new catalogue.InvalidGrantError('The account "x" is locked\\ü') }, findById: () => null }
  })
  t.teardown(() => app.close())
  const response = await postForm(app, { username: 'johndoe', password: 'secret' })
  t.equal(response.statusCode, 400)
  t.same(response.json(), { error: 'invalid_grant', error_description: "The account 'x' is locked/?" })
  const answers = [
    await postForm(app, { username: 'a', password: 'b', grant_type: 'x' }),
    await postForm(app, 'username=%ZZ'),
    await postForm(app, { token: '' }, {}, '/revoke'),
    await app.inject({ method: 'POST', url: '/token', payload: '{}', headers: { 'content-type': 'application/json' } })
  ]
  for (const answer of answers) {
    const description = (answer.json() as { error_description: string }).error_description
    t.ok(isErrorDescription(description), description)
  }
})
