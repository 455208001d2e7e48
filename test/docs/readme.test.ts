import { spawn, execFile } from 'node:child_process'
import { once } from 'node:events'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import ts from 'typescript'
import { sampleCompilerOptions } from '../helpers/doc-samples.js'
import { childEnvironment } from '../helpers/child-env.js'

// The README's code samples, as a newcomer copies them: every ```ts block is type-checked
// (strict, against lib/ through the package name), the Usage sample is run, and the Quick
// start's curl lines are run against it. Each sample is named by the HTML comment above its
// fence (`<!-- sample: name -->`, `with=other` to compile it beside another sample); what a
// fragment takes from its surroundings (`app`, `handler`, `db`…) is declared below, by name.

const exec = promisify(execFile)
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
// Inside the repo so tsx and tsc resolve fastify from its node_modules; ignored by git and lint
const OUT = join(ROOT, 'test/docs/.samples')

interface Sample {
  readonly name: string
  readonly lang: string
  readonly code: string
  /** README line of the first code line. */
  readonly line: number
  readonly with: readonly string[]
}

function samplesOf (markdown: string): Sample[] {
  const lines = markdown.split('\n')
  const samples: Sample[] = []
  for (let index = 0; index < lines.length; index++) {
    const fence = /^```(\w+)$/.exec(lines[index] as string)
    if (fence === null) continue
    const marker = /^<!-- sample: ([\w-]+)((?: with=[\w-]+)*) -->$/.exec(lines[index - 1] ?? '')
    const end = lines.indexOf('```', index + 1)
    if (marker !== null) {
      samples.push({
        name: marker[1] as string,
        lang: fence[1] as string,
        code: lines.slice(index + 1, end).join('\n'),
        line: index + 2,
        with: (marker[2] ?? '').split(' with=').filter((name) => name !== '')
      })
    } else if (fence[1] === 'ts') {
      throw new Error(`README.md:${index + 1}: a ts block without a <!-- sample: name --> line above it`)
    }
    index = end
  }
  return samples
}

// What each fragment leaves to its surroundings: imports first, then ambient declarations
// A real file that uses the plugin imports it, which brings its `declare module 'fastify'` augmentation
const APP = "import type { FastifyInstance, FastifyRequest, RouteHandlerMethod } from 'fastify'\nimport type { OAuth2PasswordOptions } from 'fastify-oauth2-password'"
const CONTEXT: Record<string, { imports?: string, declarations?: string }> = {
  usage: {},
  'store-password': {
    declarations: 'declare const db: { insertAccount (account: { username: string, email: string, passwordHash: string, scopes: string[] }): Promise<void> }'
  },
  requirements: { imports: APP, declarations: 'declare const app: FastifyInstance\ndeclare const handler: RouteHandlerMethod' },
  'context-requirement': { imports: APP, declarations: 'declare const app: FastifyInstance\ndeclare const handler: RouteHandlerMethod' },
  'security-schemes': {
    imports: APP,
    declarations: [
      'declare const app: FastifyInstance',
      'declare const handler: RouteHandlerMethod',
      'declare const secret: string',
      "declare const users: OAuth2PasswordOptions['users']",
      'declare const scopes: Record<string, string>',
      'declare const db: { serviceByToken (token: string): Promise<{ principal: { service: string } } | null>, ha1 (username: string, algorithm: string): Promise<string | null> }'
    ].join('\n')
  },
  principals: { imports: APP, declarations: 'declare const request: FastifyRequest' },
  testing: { imports: APP, declarations: 'declare const app: FastifyInstance\ndeclare const t: { teardown (fn: () => void): void }' },
  typescript: { imports: APP, declarations: 'declare const app: FastifyInstance' },
  'rate-limit': {
    imports: `${APP}\nimport oauth2Password from 'fastify-oauth2-password'`,
    declarations: 'declare const app: FastifyInstance\ndeclare const options: OAuth2PasswordOptions'
  },
  throttling: { imports: APP },
  'password-hashing': {
    imports: `${APP}\nimport oauth2Password from 'fastify-oauth2-password'`,
    declarations: 'declare const app: FastifyInstance\ndeclare const options: OAuth2PasswordOptions\ndeclare const db: { updatePasswordHash (id: string | number | bigint, passwordHash: string): Promise<void> }'
  },
  'hash-functions': { declarations: 'declare const db: { updatePasswordHash (username: string, passwordHash: string): Promise<void> }' },
  'security-events': { declarations: 'declare const logger: { info (value: unknown): void }' }
}

const COMPILER_OPTIONS = sampleCompilerOptions(ROOT)

/** Writes a sample as a module (`export {}` keeps `declare module` an augmentation) and returns its path and first line. */
async function writeSample (sample: Sample): Promise<{ file: string, offset: number }> {
  const context = CONTEXT[sample.name]
  if (context === undefined) throw new Error(`README sample "${sample.name}" has no entry in test/docs/readme.test.ts`)
  const head = context.imports === undefined ? [] : context.imports.split('\n')
  const file = join(OUT, `${sample.name}.mts`)
  await writeFile(file, [...head, sample.code, context.declarations ?? '', 'export {}', ''].join('\n'))
  return { file, offset: head.length }
}

t.setTimeout(300_000)

const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
const samples = samplesOf(readme)
const byName = new Map(samples.map((sample) => [sample.name, sample]))

t.before(async () => {
  await rm(OUT, { recursive: true, force: true })
  await mkdir(OUT, { recursive: true })
})

t.test('every ts sample of the README type-checks', async (t) => {
  const typescript = samples.filter((sample) => sample.lang === 'ts')
  t.ok(typescript.length >= 8, `${typescript.length} samples`)
  const written = new Map<string, { file: string, offset: number }>()
  for (const sample of typescript) written.set(sample.name, await writeSample(sample))
  const host = ts.createCompilerHost(COMPILER_OPTIONS)
  let previous: ts.Program | undefined
  for (const sample of typescript) {
    const own = written.get(sample.name) as { file: string, offset: number }
    const roots = [own.file, ...sample.with.map((name) => (written.get(name) as { file: string }).file)]
    // One program per sample, since samples declare their own user types; the old program's files are reused
    const program: ts.Program = ts.createProgram(roots, COMPILER_OPTIONS, host, previous)
    previous = program
    const problems = roots.flatMap((root) => ts.getPreEmitDiagnostics(program, program.getSourceFile(root))).map((diagnostic) => {
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
      if (diagnostic.file === undefined || diagnostic.start === undefined) return text
      const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start)
      const from = [...written.entries()].find(([, entry]) => entry.file === diagnostic.file?.fileName)
      const origin = from === undefined ? undefined : byName.get(from[0])
      return origin === undefined ? `${diagnostic.file.fileName}:${line + 1}: ${text}` : `README.md:${origin.line + line - (from?.[1].offset ?? 0)}: ${text}`
    })
    t.same(problems, [], `sample "${sample.name}" (README.md:${sample.line})`)
  }
})

t.test('the Usage sample runs, and the Quick start curl lines work against it', async (t) => {
  const usage = byName.get('usage') as Sample
  const curl = byName.get('curl') as Sample
  const { file } = await writeSample(usage)
  // The sources, not a build: paths are relative to this tsconfig
  await writeFile(join(OUT, 'tsconfig.json'), JSON.stringify({ extends: '../../../tsconfig.json', compilerOptions: { paths: { 'fastify-oauth2-password': ['../../../lib/index.ts'] } } }))
  const env: NodeJS.ProcessEnv = { ...childEnvironment(), JWT_SECRET: 'a-readme-secret-of-at-least-32-bytes!!', PORT: '0' }
  delete env.NODE_OPTIONS
  const child = spawn(process.execPath, [join(ROOT, 'node_modules/tsx/dist/cli.mjs'), '--tsconfig', join(OUT, 'tsconfig.json'), file], { cwd: OUT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const closed = once(child, 'close')
  t.teardown(async () => {
    // tsx runs the sample in a child of its own: end the whole process group
    if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid as number), 'SIGKILL')
    await closed
  })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Usage sample did not listen within 60 s: ${stderr}`)), 60_000)
    createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1] as string)
      }
    })
    closed.then(() => reject(new Error(`the Usage sample exited: ${stderr}`)), reject)
  })

  const { stdout } = await exec('bash', ['-euo', 'pipefail', '-c', curl.code.replaceAll('http://127.0.0.1:3000', url)], { env })
  t.same(JSON.parse(stdout), { id: 'johndoe', username: 'johndoe', email: 'johndoe@example.com' }, 'the user, without its hash')

  const login = await fetch(`${url}/token`, { method: 'POST', body: new URLSearchParams({ username: 'johndoe', password: 'secret', scope: 'me items' }) })
  const { access_token: token } = await login.json() as { access_token: string }
  const items = await fetch(`${url}/users/me/items`, { headers: { authorization: `Bearer ${token}` } })
  t.same(await items.json(), [{ item_id: 'Foo', owner: 'johndoe' }])
  const document = await (await fetch(`${url}/docs/json`)).json() as { paths: Record<string, unknown> }
  t.ok(document.paths['/users/me'] !== undefined && document.paths['/token'] !== undefined, 'Swagger UI serves the document')
})
