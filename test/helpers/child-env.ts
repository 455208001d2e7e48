/**
 * The environment for a process a test spawns: the test's own, without tap's
 * coverage: tap's hooks (NODE_OPTIONS, _TAPJS_*, NODE_V8_COVERAGE) are dropped and
 * its per-child coverage switch is turned off.
 * A child that runs lib/ through tsx compiles it differently from tap's loader,
 * and its coverage would be merged into the wrong lines of the report.
 */
export function childEnvironment (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (name === 'NODE_OPTIONS' || name === 'NODE_V8_COVERAGE' || name.startsWith('_TAPJS_')) continue
    env[name] = value
  }
  // tap's spawn wrapper hooks every child anyway; this is its switch for the child's coverage
  env._TAPJS_PROCESSINFO_COVERAGE_ = '0'
  return env
}
