import { Buffer } from 'node:buffer'
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify'
import t from 'tap'
import { requestWithoutQuery } from '../../lib/util/request-log.js'

// Issue 8 §6: no password, token, secret, or hash of one is ever logged. The test apps log
// every line at trace into a collector, remember every secret that crosses the wire, and the
// file fails at its end if one of them (or its SHA-256) is in any line.

// Shorter values a test sends ("bad", "expired") are words that innocent text holds too
const MIN_SECRET_LENGTH = 8
// Form parameters, query keys and JSON fields whose values are credentials (not `token_type`)
const SECRET_NAME = /^(password|client_secret|token|access_token|refresh_token|id_token|api[-_]?key|key)$/i
const WORD = /[A-Za-z0-9_]/

/**
 * Server options of an app that gets tokens in URLs it does not read them from (RFC 6750 §5.3:
 * URLs reach request logs): the plugin redacts only the parameters its schemes read, so the app does.
 */
export const REDACTED_URLS = { logger: { serializers: { req: requestWithoutQuery } } } as const

/** A secret found in a log line. */
export interface Leak {
  readonly secret: string
  readonly line: string
}

type Logger = FastifyServerOptions['logger']
type LineSink = { write: (line: string) => unknown }

/** Collects log lines and the secrets a test used, and finds the secrets in the lines. */
export class LogCollector {
  readonly lines: string[] = []
  readonly #secrets = new Set<string>()

  /**
   * A logger option that also writes every line here: `false`/absent becomes a trace
   * logger of this collector; a test's own stream keeps its level and gets each line too.
   */
  logger (logger: Logger = false): Logger {
    const collect = (line: string) => { this.lines.push(line) }
    if (logger === false || logger === undefined || logger === true) return { level: 'trace', stream: { write: collect } }
    const own = (logger as { stream?: LineSink }).stream
    return { level: 'trace', ...logger, stream: { write: (line: string) => { collect(line); return own?.write(line) } } }
  }

  /**
   * A secret to look for, with its SHA-256 in hex, base64 and base64url (stores keep token
   * hashes). `minLength` lowers the bar for a secret the suite knows, such as its password.
   */
  remember (secret: unknown, minLength = MIN_SECRET_LENGTH): void {
    if (typeof secret !== 'string' || secret.length < minLength) return
    const digest = createHash('sha256').update(secret).digest()
    for (const form of [secret, encodeURIComponent(secret), digest.toString('hex'), digest.toString('base64'), digest.toString('base64url')]) this.#secrets.add(form)
  }

  /** Remembers every credential a request of `app` carries and every token its answers hold. */
  watch (app: FastifyInstance): void {
    // Callback hooks that never fail: watching must not change what the app answers or when
    app.addHook('onRequest', (request, _reply, done) => {
      this.#rememberRequest(request)
      done()
    })
    app.addHook('preValidation', (request, _reply, done) => {
      this.rememberFields(request.body)
      done()
    })
    app.addHook('onSend', (_request, _reply, payload, done) => {
      if (typeof payload === 'string' && payload.startsWith('{')) this.rememberFields(parsedOrNull(payload))
      done(null, payload)
    })
  }

  /** The secrets found in the collected lines, each as a whole word (`client_secret` is not the password "secret"). */
  leaks (): Leak[] {
    const found: Leak[] = []
    for (const line of this.lines) {
      for (const secret of this.#secrets) if (containsWord(line, secret)) found.push({ secret, line })
    }
    return found
  }

  #rememberRequest (request: FastifyRequest): void {
    const { authorization, cookie } = request.headers
    if (typeof authorization === 'string') this.#rememberAuthorization(authorization)
    for (const [name, value] of Object.entries(request.headers)) if (/api[-_]?key/i.test(name)) this.remember(value)
    const query = request.url.indexOf('?')
    if (query !== -1) this.rememberFields(Object.fromEntries(new URLSearchParams(request.url.slice(query + 1))))
    if (typeof cookie === 'string') for (const pair of cookie.split(';')) this.remember(pair.slice(pair.indexOf('=') + 1).trim())
  }

  #rememberAuthorization (header: string): void {
    const [scheme = '', credentials = ''] = header.split(/ +(.*)/s)
    if (/^basic$/i.test(scheme)) {
      this.remember(credentials)
      const decoded = Buffer.from(credentials, 'base64').toString('utf8')
      this.remember(decoded.slice(decoded.indexOf(':') + 1))
    } else if (/^digest$/i.test(scheme)) {
      this.remember(/response="?([0-9a-f]+)/i.exec(credentials)?.[1])
    } else if (/^bearer$/i.test(scheme)) {
      this.remember(credentials)
    }
  }

  /** Remembers the credential fields of a form, a query or a JSON answer (`password`, `access_token`…). */
  rememberFields (fields: unknown): void {
    if (fields === null || typeof fields !== 'object') return
    for (const [name, value] of Object.entries(fields)) if (SECRET_NAME.test(name)) this.remember(value)
  }
}

function parsedOrNull (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function containsWord (line: string, secret: string): boolean {
  for (let at = line.indexOf(secret); at !== -1; at = line.indexOf(secret, at + 1)) {
    const before = line[at - 1]
    const after = line[at + secret.length]
    if ((before === undefined || !WORD.test(before)) && (after === undefined || !WORD.test(after))) return true
  }
  return false
}

/** The collector of this test file: every app the shared helpers build (and every example server they start) logs into it. */
export const suiteLogs = new LogCollector()
// The demo users' password of the example (the in-process suite's is remembered by build-app.ts)
suiteLogs.remember('secret', 1)

/** Fails the test file at its end when a secret its tests used is in a log line. */
export function assertNoLoggedSecrets (collector: LogCollector = suiteLogs): void {
  const leaks = collector.leaks()
  if (leaks.length > 0) throw new Error(`${leaks.length} log line(s) carry a secret, e.g. ${JSON.stringify(leaks[0])}`)
}

t.teardown(() => { assertNoLoggedSecrets() })
