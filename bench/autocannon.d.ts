// The part of autocannon 8's programmatic API the benchmark uses (the package ships
// no types and @types/autocannon is not a dependency). Fields follow its README.
declare module 'autocannon' {
  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    timeout?: number
    method?: 'GET' | 'POST'
    headers?: Record<string, string>
    body?: string
  }

  /** hdr-histogram-percentiles-obj: milliseconds for latency, per-second counts for requests. */
  export interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    p50: number
    p90: number
    p99: number
  }

  export interface Result {
    requests: Histogram
    latency: Histogram
    /** Seconds. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
  }

  export interface Instance {
    stop (): void
  }

  function autocannon (options: Options, callback: (error: Error | null, result: Result) => void): Instance

  export default autocannon
}
