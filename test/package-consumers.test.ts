import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import t from 'tap'
import { childEnvironment } from './helpers/child-env.js'

// The published package as its users get it: `npm run build && npm pack`, the tarball
// unpacked into temp projects (no registry, no network), then an ESM and a CommonJS
// consumer type-checked with tsc against the packed .d.ts files and run with node.

const exec = promisify(execFile)
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const FIXTURES = join(ROOT, 'test/types/consumers')
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc')

// Children run without tap's loaders (NODE_OPTIONS), as a user's tools would
const env: NodeJS.ProcessEnv = { ...childEnvironment(), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }
delete env.NODE_OPTIONS

// Several tsc runs over fastify's and node's declarations: minutes on a loaded 2-core machine
t.setTimeout(900_000)

interface PackResult {
  filename: string
  files: Array<{ path: string }>
}

async function run (command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 })
    return stdout
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string, stderr?: string }
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}\n${stdout ?? ''}\n${stderr ?? ''}`)
  }
}

/** The last stdout line of a consumer, which prints its findings as JSON. */
function report (stdout: string): unknown {
  const lines = stdout.trim().split('\n')
  return JSON.parse(lines[lines.length - 1] as string)
}

const work = await mkdtemp(join(tmpdir(), 'fastify-oauth2-password-consumers-'))
t.teardown(() => rm(work, { recursive: true, force: true }))

// Dependencies (fastify, fast-jwt, @node-rs/bcrypt…) come from the repo's node_modules,
// reached by walking up from every consumer project; the package itself only from the tarball
await symlink(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir')

let tarball = ''
let packed: string[] = []

t.before(async () => {
  await run('npm', ['run', 'build'], ROOT)
  const result = JSON.parse(await run('npm', ['pack', '--ignore-scripts', '--offline', '--json', '--pack-destination', work], ROOT)) as PackResult[]
  tarball = join(work, (result[0] as PackResult).filename)
  packed = (result[0] as PackResult).files.map((file) => file.path)
})

/** A temp project with the tarball unpacked as node_modules/fastify-oauth2-password and the given fixtures. */
async function consumer (name: string, fixtures: string[], tsFile: string): Promise<string> {
  const project = join(work, name)
  await mkdir(join(project, 'node_modules'), { recursive: true })
  await run('tar', ['-xzf', tarball, '-C', join(project, 'node_modules')], project)
  await rename(join(project, 'node_modules/package'), join(project, 'node_modules/fastify-oauth2-password'))
  for (const fixture of fixtures) await copyFile(join(FIXTURES, fixture), join(project, fixture))
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext',
      moduleResolution: 'nodenext',
      target: 'es2022',
      strict: true,
      // The packed .d.ts files are checked too, with their dependencies' types
      skipLibCheck: false,
      types: ['node'],
      outDir: 'out'
    },
    files: [tsFile]
  }))
  return project
}

t.test('the tarball holds the build and nothing else', async (t) => {
  t.ok(packed.includes('package.json'))
  t.ok(packed.includes('dist/index.js'))
  t.ok(packed.includes('dist/index.cjs') && packed.includes('dist/index.d.cts'), 'the CommonJS entry')
  t.ok(packed.includes('dist/index.d.ts'))
  t.same(packed.filter((path) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(path)), [], 'no sources, tests or examples')
  t.notOk(existsSync(join(ROOT, 'node_modules/fastify-oauth2-password')), 'consumers cannot reach the repo by package name')
})

t.test('every runtime dependency is imported by the built code', async (t) => {
  const { dependencies } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const code = (await Promise.all(packed.filter((path) => path.endsWith('.js')).map(async (path) => await readFile(join(ROOT, path), 'utf8')))).join('\n')
  for (const name of Object.keys(dependencies)) t.match(code, new RegExp(`from '${name}(/[^']*)?'`), `${name} is imported`)
  // The footprint next to fastify (measured with npm install: 15 packages, about 3 MiB) rests on these four
  t.same(Object.keys(dependencies).sort(), ['@fastify/error', '@node-rs/bcrypt', 'fast-jwt', 'fastify-plugin'])
})

t.test('ESM consumer: import oauth2Password from \'fastify-oauth2-password\'', async (t) => {
  const project = await consumer('esm', ['esm.mts'], 'esm.mts')
  await run(process.execPath, [TSC, '-p', project], project)
  t.same(report(await run(process.execPath, ['out/esm.mjs'], project)), {
    refused: [401, 'Bearer realm="api"'],
    login: 200,
    me: [200, { id: 'johndoe', email: 'john@example.com', fullName: null, scopes: ['me'] }],
    errorClass: 'FST_OAUTH2_INVALID_TOKEN'
  })
})

t.test('CommonJS consumer: require(\'fastify-oauth2-password\') is the plugin', async (t) => {
  const project = await consumer('cjs', ['cjs.cts', 'plain.cjs', 'checked.cjs'], 'cjs.cts')
  const tsc = async (...args: string[]): Promise<string> => await run(process.execPath, [TSC, ...args], project)

  t.test('TypeScript (.cts, module nodenext): the required value, its .default and named exports, augmented types', async (t) => {
    await tsc('-p', project)
    t.same(report(await run(process.execPath, ['out/cjs.cjs'], project)), {
      refused: [401, 'Bearer realm="api"'],
      login: 200,
      me: [200, { id: 'johndoe', email: 'john@example.com', fullName: null }],
      sameFunction: true,
      errorCode: 'FST_OAUTH2_INVALID_TOKEN',
      options: true
    })
  })

  // TypeScript's node16 mode predates require(esm) and refuses the ESM declarations the CommonJS ones alias
  t.test('TypeScript (.cts, module node20): the same file type-checks', async (t) => {
    await tsc('-p', project, '--noEmit', '--module', 'node20', '--moduleResolution', 'node16')
    t.pass()
  })

  // node10 resolution ignores `exports` and reads `types`; the error catalogue's declarations name
  // @fastify/error's FastifyErrorConstructor, which that resolution finds (not createError.…)
  t.test('TypeScript (.cts, module commonjs, node10 resolution): the same file type-checks', async (t) => {
    await tsc('-p', project, '--noEmit', '--module', 'commonjs', '--moduleResolution', 'node10', '--esModuleInterop')
    t.pass()
  })

  t.test('// @ts-check JavaScript: app.register(require(...), opts) and the augmented request', async (t) => {
    await tsc('--noEmit', '--allowJs', '--checkJs', '--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', 'checked.cjs')
    t.pass()
  })

  t.test('plain JavaScript: register(require(...)) as is, ./testing, one copy of the module', async (t) => {
    t.same(report(await run(process.execPath, ['plain.cjs'], project)), {
      login: 200,
      me: [200, { id: 'johndoe' }],
      testing: 200,
      plugin: true,
      named: true
    })
  })
})

t.test('the CommonJS declarations alias every export of the ESM entry', async (t) => {
  const cts = await readFile(join(ROOT, 'dist/index.d.cts'), 'utf8')
  const esm = await readFile(join(ROOT, 'lib/index.ts'), 'utf8')
  const aliased = [...cts.matchAll(/export import (\w+) =/g)].map((match) => match[1])
  // Every name in an `export { … } from` list of lib/index.ts (without `type` and `as` parts)
  const exported = [...esm.matchAll(/^export (?:type )?\{([^}]*)\} from/gm)].flatMap((match) => (match[1] as string).split(','))
    .map((name) => name.trim().replace(/^type /, '').split(' as ').pop() as string).filter((name) => name !== '')
  t.same(aliased.sort(), exported.sort())
  t.ok(exported.length > 100)
})

// Consumers' @types/node: the published declarations must compile with every maintained major
// and the newest (skipLibCheck off). Each is installed once from the registry into a cache that
// outlives the run; `latest` is refreshed when its copy is a week old.
const TYPES_NODE = ['20', '22', '24', 'latest']
const TYPES_CACHE = join(ROOT, 'node_modules/.cache/fastify-oauth2-password/types-node')
const WEEK = 7 * 24 * 60 * 60 * 1000

async function cachedTypesNode (version: string): Promise<string> {
  const dir = join(TYPES_CACHE, version)
  const types = join(dir, 'node_modules/@types/node')
  const stamp = join(dir, 'installed-at')
  const installedAt = existsSync(stamp) ? Number(await readFile(stamp, 'utf8')) : 0
  if (!existsSync(join(types, 'package.json')) || (version === 'latest' && Date.now() - installedAt > WEEK)) {
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'package.json'), '{ "private": true }')
    await run('npm', ['install', '--no-save', '--ignore-scripts', '--no-package-lock', `@types/node@${version}`], dir)
    await writeFile(stamp, String(Date.now()))
  }
  return types
}

t.test('the declarations compile against @types/node ' + TYPES_NODE.join(', '), async (t) => {
  // In parallel: each run is mostly tsc reading fastify's and node's declarations
  await Promise.all(TYPES_NODE.map(async (version) => {
    const project = await consumer(`types-node-${version}`, ['esm.mts'], 'esm.mts')
    const types = await cachedTypesNode(version)
    // The project's own @types/node comes first among the type roots, before the repo's
    await mkdir(join(project, 'node_modules/@types'), { recursive: true })
    await symlink(types, join(project, 'node_modules/@types/node'), 'dir')
    const { version: installed } = JSON.parse(await readFile(join(types, 'package.json'), 'utf8')) as { version: string }
    const files = await run(process.execPath, [TSC, '-p', project, '--noEmit', '--listFiles'], project)
    // tsc lists real paths: the cached copy, not the symlink
    const used = files.split('\n').filter((file) => file.endsWith('/@types/node/index.d.ts'))
    t.same(used, [join(types, 'index.d.ts')], `@types/node ${installed} (${version}) compiles, and is the only one used`)
  }))
})

t.test('a consumer without @fastify/swagger (an optional peer) compiles and runs', async (t) => {
  // Outside `work`, whose node_modules reaches the repo's: this project sees only what it links
  const project = await mkdtemp(join(tmpdir(), 'fastify-oauth2-password-no-swagger-'))
  t.teardown(() => rm(project, { recursive: true, force: true }))
  await mkdir(join(project, 'node_modules/@types'), { recursive: true })
  await run('tar', ['-xzf', tarball, '-C', join(project, 'node_modules')], project)
  await rename(join(project, 'node_modules/package'), join(project, 'node_modules/fastify-oauth2-password'))
  const { dependencies } = JSON.parse(await readFile(join(project, 'node_modules/fastify-oauth2-password/package.json'), 'utf8')) as { dependencies: Record<string, string> }
  t.notOk('@fastify/swagger' in dependencies, 'not a dependency')
  for (const name of ['fastify', '@types/node', ...Object.keys(dependencies)]) {
    await mkdir(join(project, 'node_modules', name, '..'), { recursive: true })
    await symlink(join(ROOT, 'node_modules', name), join(project, 'node_modules', name), 'dir')
  }
  await copyFile(join(FIXTURES, 'esm.mts'), join(project, 'esm.mts'))
  await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
    files: ['esm.mts']
  }))
  await run(process.execPath, [TSC, '-p', project], project)
  t.same((report(await run(process.execPath, ['out/esm.mjs'], project)) as { me: unknown }).me, [200, { id: 'johndoe', email: 'john@example.com', fullName: null, scopes: ['me'] }])
})
