import { performance } from 'node:perf_hooks'

/** Options of {@link ConcurrencyGate}. */
export interface ConcurrencyGateOptions {
  /** Jobs allowed to run at the same time, an integer of at least 1. */
  maxConcurrent: number
  /** Jobs allowed to wait for a slot, an integer of at least 0. Beyond it `run()` rejects at once. */
  maxQueue: number
  /** Monotonic clock in milliseconds, for tests. Default `performance.now`. */
  now?: () => number
}

/**
 * The signal {@link ConcurrencyGate.run} rejects with when every slot is busy
 * and the queue is full. Internal: callers map it to their own public error.
 */
export class GateFullError extends Error {
  /** When a retry is likely to find room, in whole seconds (at least 1). */
  readonly retryAfterSeconds: number

  constructor (retryAfterSeconds: number) {
    super(`Concurrency gate is full, retry in ${retryAfterSeconds}s`)
    this.name = 'GateFullError'
    this.retryAfterSeconds = retryAfterSeconds
  }
}

// Weight of the newest duration in the moving mean: recent enough to follow a
// machine slowing down under load, smooth enough that one outlier moves it little.
const MEAN_WEIGHT = 0.2

function assertCount (name: string, value: unknown, min: number): asserts value is number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name} must be an integer of at least ${min}, got ${typeof value}`)
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer of at least ${min}, got ${value}`)
  }
}

/**
 * Bounds how many async jobs run at once and how many may wait, so a burst of
 * expensive work (bcrypt) gets a fast refusal with a retry estimate instead of
 * an unbounded queue. Waiting jobs start in arrival order. No timers are used.
 *
 * @example
 * ```ts
 * const gate = new ConcurrencyGate({ maxConcurrent: 3, maxQueue: 96 })
 * try {
 *   return await gate.run(() => verifyPassword(password, hash))
 * } catch (err) {
 *   if (err instanceof GateFullError) reply.header('retry-after', String(err.retryAfterSeconds))
 *   throw err
 * }
 * ```
 */
export class ConcurrencyGate {
  readonly maxConcurrent: number
  readonly maxQueue: number
  readonly #now: () => number
  // Each entry starts one waiting job; calling it hands that job the slot of the one that ended.
  readonly #waiting: Array<() => void> = []
  #running = 0
  #meanDurationMs: number | undefined

  constructor (options: ConcurrencyGateOptions) {
    assertCount('maxConcurrent', options.maxConcurrent, 1)
    assertCount('maxQueue', options.maxQueue, 0)
    this.maxConcurrent = options.maxConcurrent
    this.maxQueue = options.maxQueue
    this.#now = options.now ?? performance.now.bind(performance)
  }

  /** Jobs running now. */
  get running (): number {
    return this.#running
  }

  /** Jobs waiting for a slot. */
  /** Whether `run()` would refuse a job right now (every slot busy, the queue full). */
  get full (): boolean {
    return this.#running >= this.maxConcurrent && this.#waiting.length >= this.maxQueue
  }

  /** When a refused job should retry, in whole seconds (at least 1). */
  retryAfterSeconds (): number {
    return this.#retryAfterSeconds()
  }

  get queued (): number {
    return this.#waiting.length
  }

  /**
   * Runs `job` when a slot is free and settles as it does. Rejects at once,
   * without calling `job`, with a {@link GateFullError} when `maxConcurrent`
   * jobs are running and `maxQueue` are waiting. A job that throws or rejects
   * frees its slot like one that succeeds.
   */
  async run<T> (job: () => Promise<T>): Promise<T> {
    if (this.#running < this.maxConcurrent) {
      this.#running++
    } else if (this.#waiting.length < this.maxQueue) {
      // The slot is handed over by #release(), never freed and re-taken, so a
      // job arriving in between cannot overtake one that was already waiting.
      await new Promise<void>((resolve) => { this.#waiting.push(resolve) })
    } else {
      throw new GateFullError(this.#retryAfterSeconds())
    }
    const started = this.#now()
    try {
      return await job()
    } finally {
      this.#record(this.#now() - started)
      this.#release()
    }
  }

  #record (durationMs: number): void {
    this.#meanDurationMs = this.#meanDurationMs === undefined
      ? durationMs
      : this.#meanDurationMs + MEAN_WEIGHT * (durationMs - this.#meanDurationMs)
  }

  #release (): void {
    const next = this.#waiting.shift()
    if (next === undefined) this.#running--
    else next()
  }

  // The queue drains maxConcurrent jobs at a time, each taking about the mean:
  // that is when a retry finds room. Before any job has ended there is no
  // estimate, and the floor of 1 second applies.
  #retryAfterSeconds (): number {
    const meanMs = this.#meanDurationMs ?? 0
    const seconds = Math.ceil(meanMs * this.#waiting.length / this.maxConcurrent / 1000)
    return Math.max(1, seconds)
  }
}
