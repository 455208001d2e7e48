import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import Fastify from 'fastify'
import t from 'tap'
import ts from 'typescript'
import { sampleCompilerOptions } from '../helpers/doc-samples.js'
import * as entry from '../../lib/index.js'
import * as testing from '../../lib/testing.js'

// docs/from-fastapi.md as a newcomer reads it: its ts samples type-check (strict, against lib/
// through the package name), and every row of its construct table names APIs that exist.

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
// Inside the repo so tsc resolves fastify from its node_modules; ignored by git and lint (not
// readme.test.ts's folder, which that test empties while this one may run)
const OUT = join(ROOT, 'test/docs/.from-fastapi-samples')
const markdown = await readFile(join(ROOT, 'docs/from-fastapi.md'), 'utf8')

const COMPILER_OPTIONS = sampleCompilerOptions(ROOT)

/** The fenced ts blocks, with the line of their first code line. */
function tsBlocks (text: string): Array<{ code: string, line: number }> {
  const lines = text.split('\n')
  const blocks: Array<{ code: string, line: number }> = []
  lines.forEach((line, index) => {
    if (line === '```ts') blocks.push({ code: lines.slice(index + 1, lines.indexOf('```', index + 1)).join('\n'), line: index + 2 })
  })
  return blocks
}

t.test('every ts sample type-checks', async (t) => {
  const blocks = tsBlocks(markdown)
  t.ok(blocks.length >= 1, `${blocks.length} samples`)
  await rm(OUT, { recursive: true, force: true })
  await mkdir(OUT, { recursive: true })
  for (const [index, block] of blocks.entries()) {
    const file = join(OUT, `sample-${index}.mts`)
    // `export {}` keeps `declare module` an augmentation
    await writeFile(file, `${block.code}\nexport {}\n`)
    const program = ts.createProgram([file], COMPILER_OPTIONS)
    const problems = ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((diagnostic) => {
      const line = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line ?? 0
      return `docs/from-fastapi.md:${block.line + line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`
    })
    t.same(problems, [], `the sample at docs/from-fastapi.md:${block.line}`)
  }
})

t.test('every construct row names APIs that exist', async (t) => {
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(entry.default, { secret: 'a-from-fastapi-doc-secret-of-32-bytes!!', users: { findByUsername: () => null, findById: () => null } })
  await app.ready()
  const functions = new Set([
    ...Object.keys(entry), ...Object.keys(testing), ...Object.keys(app.oauth2).map((name) => `app.oauth2.${name}`),
    'request.currentUser', 'app.requireSecurity', 'app.register', 'setErrorHandler',
    // What the app gives in option `users` (lib/types.ts UserStore)
    'users.findByUsername', 'users.findById'
  ])
  const options = await readFile(join(ROOT, 'lib/options.ts'), 'utf8')
  const rows = markdown.split('\n').filter((line) => line.startsWith('| `'))
  t.ok(rows.length >= 15, `${rows.length} rows`)
  for (const row of rows) {
    const ours = row.split(' | ').slice(1).join(' | ')
    const code = [...ours.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string)
    t.ok(code.length > 0, `a row names what to use: ${row.slice(0, 60)}`)
    // `name(…)`, `app.oauth2.name(…)`, `await request.currentUser(…)`: an exported function, a method, a user lookup
    for (const [, name] of code.flatMap((text) => [...text.matchAll(/((?:app\.oauth2\.|request\.|app\.|users\.)?\w+)\(/g)])) {
      t.ok(functions.has(name as string), `${name}() exists`)
    }
    // `option \`name\``: a plugin option
    for (const [, name] of ours.matchAll(/options? `(\w+)/g)) {
      t.match(options, new RegExp(`^  ${name}\\??:`, 'm'), `option ${name} exists`)
    }
  }
})
