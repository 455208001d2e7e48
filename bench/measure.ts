import autocannon, { type Result } from 'autocannon'

/** One autocannon load. */
export interface Load {
  url: string
  connections: number
  /** Seconds. */
  duration: number
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  body?: string
}

/** What one run measured. */
export interface Sample {
  /** 2xx answers per second: an endpoint that fails fast never looks fast. */
  requestsPerSecond: number
  /** Mean latency, milliseconds. */
  latencyMean: number
  /** Milliseconds. */
  latencyP99: number
  /** Answers by status code. */
  statusCodes: Record<string, number>
  /** Connection errors and timeouts. */
  errors: number
  /** How long the load ran, seconds. */
  durationSeconds: number
  /** Server CPU time (user + system) per answer, microseconds, when the server's CPU time is known. */
  serverCpuPerRequest?: number
}

/** A load in progress. */
export interface Running {
  readonly done: Promise<Sample>
  /** Ends the load early (the sample covers the time it ran). */
  stop (): void
}

function sample (result: Result): Sample {
  const statusCodes: Record<string, number> = {}
  for (const [code, { count }] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(count)
  return {
    requestsPerSecond: result['2xx'] / result.duration,
    latencyMean: result.latency.average,
    latencyP99: result.latency.p99,
    statusCodes,
    errors: result.errors + result.timeouts,
    durationSeconds: result.duration
  }
}

/** Starts a load with autocannon's programmatic API, in this process. */
export function start (load: Load): Running {
  let stop: () => void = () => {}
  const done = new Promise<Sample>((resolve, reject) => {
    const instance = autocannon({
      url: load.url,
      connections: load.connections,
      duration: load.duration,
      pipelining: 1,
      // Queued logins may wait several seconds for bcrypt; anything slower counts as an error
      timeout: 20,
      method: load.method ?? 'GET',
      headers: load.headers ?? {},
      body: load.body
    }, (error, result) => {
      if (error !== null) reject(error)
      else resolve(sample(result))
    })
    stop = () => instance.stop()
  })
  return { done, stop: () => stop() }
}

/** Runs a load to its end. */
export async function measure (load: Load): Promise<Sample> {
  return await start(load).done
}

/** The median of a non-empty list. */
export function median (values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] as number : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2
}
