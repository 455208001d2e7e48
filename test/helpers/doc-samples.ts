import { join } from 'node:path'
import ts from 'typescript'

/**
 * How the doc tests type-check the code samples of the README and docs/: strict, as an ESM
 * consumer (nodenext), with the package name resolved to lib/ under `root` (the repository).
 */
export function sampleCompilerOptions (root: string): ts.CompilerOptions {
  return {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    baseUrl: root,
    paths: {
      'fastify-oauth2-password': [join(root, 'lib/index.ts')],
      'fastify-oauth2-password/testing': [join(root, 'lib/testing.ts')]
    }
  }
}
