import { HttpClient } from '@actions/http-client'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { FlowDispatchError, isRetryable, kindOfStatus } from './errors.js'
import type { Host } from './host.js'

/**
 * Our retry layer over @actions/http-client, which brings the runner's proxy
 * settings but retries almost nothing itself (only 502-504, on reads, a few ms
 * apart). Here: network errors, 408, 429 and 5xx, with exponential backoff and
 * jitter, `Retry-After` obeyed, and a deadline no attempt may outlive. Only
 * requests that are safe to repeat are ever retried, and a request's retries
 * are told once, not once an attempt.
 */

export interface HttpRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  url: string
  json?: unknown
  /** A body that is not JSON, e.g. multipart form data; sent again as it is on a retry. */
  body?: { contentType: string; data: Buffer }
  /** True when sending it twice has the effect of sending it once (reads, keyed creates). */
  idempotent: boolean
  /**
   * Retried for as long as the deadline allows rather than a number of times:
   * for a request the step fails without (the look-up and the create), where
   * a busy server must cost time, not the run. Needs `idempotent` and a deadline.
   */
  untilDeadline?: boolean
  /** Epoch ms after which no attempt is started or allowed to go on. */
  deadline?: number
}

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** An answer whose body is read as it comes, e.g. server-sent events; `close` ends it from our side. */
export interface HttpStream {
  status: number
  headers: IncomingHttpHeaders
  body: AsyncIterable<Buffer>
  close(): void
}

export interface HttpOptions {
  userAgent: string
  /** Where a request's retries are told. */
  log: Pick<Host, 'info' | 'debug'>
  headers: Record<string, string>
  /** One attempt's limit, when the deadline leaves more. */
  attemptTimeoutMs?: number
  maxAttempts?: number
  baseDelayMs?: number
  maxDelayMs?: number
  /** The clock deadlines are read on; Date.now but in tests, which move it themselves. */
  now?: () => number
  /** The pause before a retry; a real timer but in tests, which note it instead of waiting it out. */
  sleep?: (ms: number) => Promise<void>
}

/** Errors that mean we never reached the server: a wrong URL fails fast instead of being retried. */
const CONNECT_ERRORS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])

export class Http {
  private readonly options: Required<HttpOptions>
  /** Set once any request got an answer; from then on a refused connection is a blip, not a wrong URL. */
  private reachedServer = false

  constructor(options: HttpOptions) {
    this.options = {
      attemptTimeoutMs: 30_000,
      maxAttempts: 5,
      baseDelayMs: 1_000,
      maxDelayMs: 30_000,
      now: Date.now,
      sleep: (ms) => sleep(ms),
      ...options
    }
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const deadline = request.deadline ?? Number.POSITIVE_INFINITY
    const maxAttempts = request.untilDeadline && Number.isFinite(deadline) ? Number.POSITIVE_INFINITY : this.options.maxAttempts
    const { now } = this.options
    const started = now()
    for (let attempt = 1; ; attempt++) {
      const timeoutMs = Math.min(this.options.attemptTimeoutMs, deadline - now())
      if (timeoutMs <= 0)
        throw noAnswer(`${describe(request)}: no time left before the deadline${tried(attempt - 1, now() - started)}`, 'ETIMEDOUT')
      let delayMs: number
      let reason: string
      try {
        const response = await this.attempt(request, timeoutMs)
        this.reachedServer = true
        const kind = kindOfStatus(response.status)
        if (response.status < 300 || !isRetryable(kind) || !request.idempotent || attempt >= maxAttempts) return response
        delayMs = retryAfterMs(response.headers['retry-after'], now()) ?? this.backoffMs(attempt)
        reason = `HTTP ${response.status}`
        if (now() + delayMs >= deadline) return response
      } catch (error) {
        const failure = asFailure(error, request, this.reachedServer)
        if (!isRetryable(failure.kind) || !request.idempotent || attempt >= maxAttempts)
          throw withAttempts(failure, attempt, now() - started)
        delayMs = this.backoffMs(attempt)
        reason = failure.message
        if (now() + delayMs >= deadline) throw withAttempts(failure, attempt, now() - started)
      }
      if (attempt === 1)
        this.options.log.info(`${describe(request)}: ${firstFailure(reason, request)}; ${this.retryPlan(maxAttempts, deadline)}`)
      else this.options.log.debug(`${describe(request)}: attempt ${attempt}: ${reason}; next in ${(delayMs / 1000).toFixed(1)}s`)
      await this.options.sleep(delayMs)
    }
  }

  /** What the retries of one request will be, said once when the first attempt fails. */
  private retryPlan(maxAttempts: number, deadline: number): string {
    const pause = `pauses of up to ${(this.options.maxDelayMs / 1000).toFixed(0)}s`
    if (Number.isFinite(maxAttempts)) return `retrying up to ${maxAttempts - 1} times, with ${pause}`
    return `retrying until the step's timeout (${new Date(deadline).toISOString().replace(/\.\d+Z$/, 'Z')}), with ${pause}`
  }

  private backoffMs(attempt: number): number {
    const exponential = this.options.baseDelayMs * 2 ** (attempt - 1)
    const jitter = 0.8 + Math.random() * 0.4
    return Math.min(this.options.maxDelayMs, exponential * jitter)
  }

  /**
   * One GET whose answer stays open: the headers must come within the attempt
   * limit, the body may go on for as long as the caller reads it. Never
   * retried here: only the caller knows what a new stream would repeat.
   */
  async open(url: string, accept: string, deadline = Number.POSITIVE_INFINITY): Promise<HttpStream> {
    const request: HttpRequest = { method: 'GET', url, idempotent: true, deadline }
    const timeoutMs = Math.min(this.options.attemptTimeoutMs, deadline - this.options.now())
    if (timeoutMs <= 0) throw noAnswer(`${describe(request)}: no time left before the deadline`, 'ETIMEDOUT')
    // No socket timeout: a quiet stream is not a dead one, and the caller closes it.
    const client = new HttpClient(this.options.userAgent, [], { allowRetries: false, keepAlive: false, maxRedirects: 5 })
    try {
      const response = await withTimeout(client.request('GET', url, null, { ...this.options.headers, accept }), timeoutMs, () => {
        client.dispose()
        return noAnswer(`${describe(request)}: no answer within ${(timeoutMs / 1000).toFixed(1)}s`, 'ETIMEDOUT')
      })
      this.reachedServer = true
      const { message } = response
      return {
        status: message.statusCode ?? 0,
        headers: message.headers,
        body: message,
        close: () => {
          message.destroy()
          client.dispose()
        }
      }
    } catch (error) {
      client.dispose()
      throw asFailure(error, request, this.reachedServer)
    }
  }

  private async attempt(request: HttpRequest, timeoutMs: number): Promise<HttpResponse> {
    // A client per attempt, so an attempt that overruns can be torn down alone.
    const client = new HttpClient(this.options.userAgent, [], {
      socketTimeout: timeoutMs,
      allowRetries: false,
      keepAlive: false,
      maxRedirects: 5
    })
    // JSON first, but never a 406: Kestra's kill answers only `text/json`, and its empty body is all we need of it.
    const headers: Record<string, string> = { accept: 'application/json, text/json;q=0.9, */*;q=0.1', ...this.options.headers }
    let body: string | NodeJS.ReadableStream | null = null
    if (request.body !== undefined) {
      headers['content-type'] = request.body.contentType
      headers['content-length'] = String(request.body.data.length)
      body = Readable.from([request.body.data])
    } else if (request.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(request.json)
    }
    const exchange = (async (): Promise<HttpResponse> => {
      const response = await client.request(request.method, request.url, body, headers)
      const text = await response.readBody()
      return { status: response.message.statusCode ?? 0, headers: response.message.headers, body: text }
    })()
    try {
      return await withTimeout(exchange, timeoutMs, () => {
        client.dispose()
        return noAnswer(`${describe(request)}: no complete answer within ${(timeoutMs / 1000).toFixed(1)}s`, 'ETIMEDOUT')
      })
    } finally {
      client.dispose()
    }
  }
}

/** The promise's value, or the error `expire` makes when it takes longer than `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number, expire: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(expire()), ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}

function describe(request: HttpRequest): string {
  return `${request.method} ${request.url}`
}

/** A request that got no answer; the wait goes on through it, a retry may get one. */
function noAnswer(message: string, code?: string): FlowDispatchError {
  return new FlowDispatchError('transient', message, { code })
}

/**
 * The error with its kind: a TLS failure says what to check, for retrying
 * would only repeat it; a connection never made before any answer means a
 * wrong URL, not a blip, and fails fast.
 */
function asFailure(error: unknown, request: HttpRequest, reachedServer: boolean): FlowDispatchError {
  if (error instanceof FlowDispatchError) return error
  const code = (error as NodeJS.ErrnoException)?.code
  const message = error instanceof Error ? error.message : String(error)
  const tls = tlsFailure(code, message, request)
  if (tls) return tls
  const text = `${describe(request)}: ${oneLine(message)}`
  if (code !== undefined && CONNECT_ERRORS.has(code) && !reachedServer) return new FlowDispatchError('unreachable', text, { code })
  return noAnswer(text, code ?? (/timeout/i.test(message) ? 'ETIMEDOUT' : undefined))
}

function withAttempts(failure: FlowDispatchError, attempts: number, elapsedMs: number): FlowDispatchError {
  return attempts > 1
    ? new FlowDispatchError(failure.kind, `${failure.message}${tried(attempts, elapsedMs)}`, { status: failure.status, code: failure.code })
    : failure
}

function tried(attempts: number, elapsedMs: number): string {
  return attempts > 1 ? ` (after ${attempts} attempts in ${(elapsedMs / 1000).toFixed(0)}s)` : ''
}

/** The first failure of a request, as the one line that says it. */
function firstFailure(reason: string, request: HttpRequest): string {
  const prefix = `${describe(request)}: `
  return reason.startsWith(prefix) ? reason.slice(prefix.length) : reason
}

/** Node's certificate verdicts (from OpenSSL's X509_V_ERR_* names) and its own. */
const CERTIFICATE_ERRORS = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID'
])

/**
 * A TLS failure is a property of the URL and the server, not of the moment:
 * the same request fails the same way every time. Undefined for anything else.
 */
function tlsFailure(code: string | undefined, message: string, request: HttpRequest): FlowDispatchError | undefined {
  const { origin } = new URL(request.url)
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(message)?.[1]
  if (code !== undefined && CERTIFICATE_ERRORS.has(code)) {
    return new FlowDispatchError(
      'tls',

      `${describe(request)}: the certificate of ${origin} was refused (${code}: ${oneLine(message)}). ` +
        "Check that the URL names the server as its certificate does; a certificate of a private CA must be given to Node with NODE_EXTRA_CA_CERTS (the runner's environment)."
    )
  }
  if (openssl !== undefined && /wrong version number|packet length too long|http request|unknown protocol/.test(openssl)) {
    return new FlowDispatchError(
      'tls',

      `${describe(request)}: ${origin} does not speak TLS on that port (${openssl}): it looks like a plain-HTTP server. ` +
        'Check the scheme and port of the URL: http:// for a server without TLS, or the port where it serves HTTPS.'
    )
  }
  if (openssl !== undefined || code === 'EPROTO' || code?.startsWith('ERR_SSL_') || code?.startsWith('ERR_TLS_')) {
    return new FlowDispatchError(
      'tls',

      `${describe(request)}: no TLS connection to ${origin} (${code ?? 'TLS'}: ${openssl ?? oneLine(message)}). ` +
        'Check the scheme and port of the URL, and that the server and Node agree on a TLS version and cipher.'
    )
  }
  return undefined
}

/** OpenSSL's messages end in a newline and a source path; one line of the reason is enough. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

/** `Retry-After` as seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const value = Array.isArray(header) ? header[0] : header
  if (value === undefined || value.trim() === '') return undefined
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
