import neostandard from 'neostandard'

export default neostandard({
  ts: true,
  filesTs: ['**/*.ts', '**/*.mts', '**/*.cts'],
  ignores: ['dist/**', 'coverage/**', '.tap/**', 'node_modules/**', 'test/types/consumers/**/node_modules/**']
})
