import { Buffer } from 'node:buffer'

/** Why a provider document could not be had. Internal: schemes turn it into a 503. */
export class RemoteDocumentError extends Error {
  constructor (url: URL, problem: string) {
    super(`${url.href}: ${problem}`)
    this.name = 'RemoteDocumentError'
  }
}

/** Limits of {@link fetchJson}. */
export interface FetchJsonLimits {
  /** Milliseconds for the whole exchange, body included. */
  readonly timeoutMs: number
  /** Largest body accepted, in bytes. */
  readonly maxBytes: number
}

async function readLimited (response: Response, url: URL, maxBytes: number): Promise<string> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      throw new RemoteDocumentError(url, `the body is larger than ${maxBytes} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * GETs a JSON document from a provider (OpenID discovery, JWKS) within a time
 * and size budget. Redirects are refused: keys come from the configured URL or
 * not at all. Throws {@link RemoteDocumentError} for any failure.
 */
export async function fetchJson (url: URL, limits: FetchJsonLimits): Promise<unknown> {
  let text: string
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(limits.timeoutMs)
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new RemoteDocumentError(url, `answered ${response.status}`)
    }
    text = await readLimited(response, url, limits.maxBytes)
  } catch (error) {
    if (error instanceof RemoteDocumentError) throw error
    throw new RemoteDocumentError(url, (error as Error).name === 'TimeoutError' ? `no answer within ${limits.timeoutMs} ms` : 'unreachable')
  }
  try {
    return JSON.parse(text)
  } catch {
    throw new RemoteDocumentError(url, 'the body is not JSON')
  }
}
