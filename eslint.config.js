import neostandard from 'neostandard'

// The folder rules of docs/architecture.md: each folder of lib/ may import only the folders
// below it (type imports count). `allow` lists what a folder may reach besides itself.
const LAYERS = {
  util: [],
  protocol: ['errors.ts', 'util'],
  passwords: ['errors.ts', 'util', 'types.ts'],
  stores: ['errors.ts', 'util'],
  jwt: ['protocol', 'errors.ts', 'util'],
  tokens: ['jwt', 'stores', 'protocol', 'errors.ts', 'util'],
  protection: ['stores', 'protocol', 'types.ts', 'errors.ts', 'util'],
  schemes: ['jwt', 'passwords', 'protection', 'protocol', 'types.ts', 'errors.ts', 'util'],
  'resource-server': ['schemes', 'protocol', 'types.ts', 'errors.ts', 'util'],
  openapi: ['schemes', 'resource-server', 'protocol', 'errors.ts', 'util'],
  'authorization-server': ['tokens', 'passwords', 'protection', 'jwt', 'openapi', 'protocol', 'types.ts', 'errors.ts', 'util']
}
const ROOT_FILES = ['errors.ts', 'types.ts', 'options.ts', 'api.ts', 'index.ts', 'testing.ts']
const everything = [...Object.keys(LAYERS), ...ROOT_FILES]

const zones = [
  ...Object.entries(LAYERS).map(([folder, allow]) => ({
    target: `./lib/${folder}`,
    from: './lib',
    except: [`./${folder}`, ...allow.map((name) => `./${name}`)],
    message: `lib/${folder}/ may import only ${allow.join(', ') || 'nothing of lib/'} (docs/architecture.md)`
  })),
  // The leaves of the root: types.ts imports nothing of lib/, errors.ts only util/ (its error factory)
  ...[['errors.ts', ['util']], ['types.ts', []]].map(([file, allow]) => ({
    target: `./lib/${file}`,
    from: './lib',
    except: [`./${file}`, ...allow.map((name) => `./${name}`)],
    message: `lib/${file} imports ${allow.length === 0 ? 'nothing of lib/' : `only ${allow.join(', ')} of lib/`}`
  })),
  // Only index.ts and api.ts read the options module; nothing imports the entry point
  {
    target: everything.filter((name) => !['options.ts', 'api.ts', 'index.ts'].includes(name)).map((name) => `./lib/${name}`),
    from: './lib/options.ts',
    message: 'only lib/index.ts and lib/api.ts import options.ts'
  },
  { target: './lib', from: './lib/index.ts', message: 'nothing imports lib/index.ts' },
  { target: './lib', from: ['./examples', './test', './bench'], message: 'lib/ never imports examples, tests or benchmarks' }
]

export default [
  ...neostandard({
    ts: true,
    filesTs: ['**/*.ts', '**/*.mts', '**/*.cts'],
    ignores: ['test/docs/.samples/**', 'test/docs/.from-fastapi-samples/**', 'dist/**', 'coverage/**', '.tap/**', 'node_modules/**', 'test/types/consumers/**/node_modules/**']
  }),
  {
    files: ['lib/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }]
    }
  }
]
