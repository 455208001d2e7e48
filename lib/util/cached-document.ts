/** Timing of a {@link cachedDocument}. */
export interface CachedDocumentOptions {
  /** How long a loaded value is used before it is loaded again, in milliseconds. */
  readonly maxAgeMs: number
  /** Least time between two loads, in milliseconds: no request can make the provider be asked more often. */
  readonly cooldownMs: number
  /** Clock, for tests. */
  readonly now?: () => number
}

/** A remote document kept in memory, loaded on demand. */
export interface CachedDocument<T> {
  /** The value, loaded when missing or older than `maxAgeMs`. A failed reload keeps serving the last good value. */
  get (): Promise<T>
  /**
   * Loads the value again unless the last load started less than `cooldownMs`
   * ago (then the current value is returned): the "unknown `kid`" path.
   */
  refresh (): Promise<T>
}

/**
 * Caches what `load` returns. Concurrent callers share one load; loads are at
 * least `cooldownMs` apart, failed ones included, so neither a flood of tokens
 * with unknown key ids nor a provider outage turns into a flood of fetches.
 * While no value was ever loaded, a failure is rethrown until the cooldown ends.
 */
export function cachedDocument<T> (load: () => Promise<T>, options: CachedDocumentOptions): CachedDocument<T> {
  const now = options.now ?? Date.now
  let value: { readonly data: T, readonly loadedAt: number } | undefined
  let pending: Promise<T> | undefined
  let lastAttempt = -Infinity
  let lastError: unknown

  function start (): Promise<T> {
    lastAttempt = now()
    pending = load().then(function loaded (data) {
      value = { data, loadedAt: now() }
      lastError = undefined
      return data
    }, function failed (error: unknown) {
      lastError = error
      if (value === undefined) throw error
      return value.data
    }).finally(function settled () {
      pending = undefined
    })
    return pending
  }

  function attempt (): Promise<T> {
    if (pending !== undefined) return pending
    if (now() - lastAttempt < options.cooldownMs) {
      return value === undefined ? Promise.reject(lastError) : Promise.resolve(value.data)
    }
    return start()
  }

  return {
    get () {
      if (value !== undefined && now() - value.loadedAt < options.maxAgeMs) return Promise.resolve(value.data)
      return attempt()
    },
    refresh: attempt
  }
}
