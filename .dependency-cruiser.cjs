// Import circles in lib/, type imports included (ESLint's import-x/no-cycle skips those).
// The folder rules themselves are ESLint's (eslint.config.js); this file only forbids circles.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'lib/ is layered (docs/architecture.md): no module may reach itself again, not even through a type import',
      from: {},
      to: { circular: true }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] }
  }
}
