// The part of better-sqlite3's API the example uses (the package ships no types and
// @types/better-sqlite3 is not a dependency). Signatures follow its docs/api.md.
declare module 'better-sqlite3' {
  interface RunResult {
    changes: number
    lastInsertRowid: number | bigint
  }

  interface Statement<Params extends unknown[], Row> {
    get (...params: Params): Row | undefined
    all (...params: Params): Row[]
    run (...params: Params): RunResult
  }

  interface Options {
    readonly?: boolean
    fileMustExist?: boolean
    timeout?: number
  }

  interface Database {
    readonly open: boolean
    prepare<Params extends unknown[] = [], Row = unknown> (source: string): Statement<Params, Row>
    exec (source: string): this
    pragma (source: string, options?: { simple?: boolean }): unknown
    transaction<Args extends unknown[], Result> (fn: (...args: Args) => Result): (...args: Args) => Result
    close (): this
  }

  interface DatabaseConstructor {
    new (filename?: string, options?: Options): Database
  }

  const Database: DatabaseConstructor
  export default Database
}
