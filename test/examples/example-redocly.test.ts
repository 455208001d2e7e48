import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core'
import t from 'tap'
import { buildExampleApp } from '../../examples/app/app.js'

// The example's OpenAPI document against Redocly's `recommended` ruleset (what `redocly lint`
// runs by default): 0 errors and 0 warnings. The ruleset ships with @redocly/openapi-core,
// so nothing is fetched. What it asks for, and where it comes from: servers, info.license,
// operationIds and tags, `security: []` on public routes (the example); a 4XX answer on every
// operation and operationIds on the plugin's own (the plugin).

function describe (problem: NormalizedProblem): string {
  return `${problem.severity} ${problem.ruleId}: ${problem.message} (${problem.location.map((location) => location.pointer).join(', ')})`
}

t.test('the example\'s document passes Redocly\'s recommended ruleset with no error and no warning', async (t) => {
  const app = await buildExampleApp({ jwtSecret: 'redocly-test-secret-of-at-least-32-bytes', bcryptCost: 4, database: ':memory:' })
  t.teardown(() => app.close())
  await app.ready()
  const config = await createConfig({ extends: ['recommended'] })
  const problems = await lintFromString({ source: JSON.stringify(app.swagger()), absoluteRef: '/openapi.json', config })
  t.same(problems.map(describe), [])
})

t.test('the linter does find problems: a document without servers, license or operationIds', async (t) => {
  const config = await createConfig({ extends: ['recommended'] })
  const source = JSON.stringify({ openapi: '3.1.0', info: { title: 'Bare', version: '1.0.0' }, paths: { '/x': { get: { responses: { 200: { description: 'OK' } } } } } })
  const rules = (await lintFromString({ source, absoluteRef: '/openapi.json', config })).map((problem) => problem.ruleId).sort()
  t.same(rules, ['info-license', 'no-empty-servers', 'operation-4xx-response', 'operation-operationId', 'operation-summary', 'security-defined'])
})
