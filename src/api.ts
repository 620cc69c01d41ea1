import { type ErrorKind, FlowDispatchError, kindOfStatus } from './errors.js'
import type { Host } from './host.js'
import { Http, type HttpOptions, type HttpRequest, type HttpResponse, type HttpStream } from './http.js'
import type { Credentials } from './common-inputs.js'
import { explain } from './remote.js'
import type { Clock } from './clock.js'

export interface ApiOptions {
  /** `Prefect`, `Kestra`: for messages. */
  product: string
  /** The URL the user gave, for messages. */
  server: string
  credentials: Credentials
  userAgent: string
  host: Host
  headers?: Record<string, string>
  /** What to check when the server refuses the credentials, by kind of credentials; also what to set when it forbids a request sent without any. */
  credentialHint: (credentials: Credentials) => string
  /** The clock the requests' deadlines and retry pauses are on; Http's own (the real one) when absent. */
  clock?: Clock
}

/**
 * One orchestrator's HTTP API as the clients see it: every failure turned
 * into a message that names the server and says what to check.
 */
export class Api {
  private readonly http: Http
  private readonly options: ApiOptions

  constructor(options: ApiOptions) {
    this.options = options
    this.http = new Http({
      userAgent: options.userAgent,
      log: options.host,
      headers: { ...options.headers, ...authorization(options.credentials) },
      ...(options.clock && clockOptions(options.clock))
    })
  }

  /** What every request carries (client, API version, credentials), for a connection Http does not make: a WebSocket. */
  get headers(): Record<string, string> {
    const { userAgent, headers, credentials } = this.options
    return { 'user-agent': userAgent, ...headers, ...authorization(credentials) }
  }

  get serverName(): string {
    return `${this.options.product} at ${this.options.server}`
  }

  /** Sends the request; a server that does not answer becomes an error that says what we were doing. */
  async send(what: string, request: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.http.send(request)
    } catch (error) {
      throw this.unanswered(what, error)
    }
  }

  /** Opens a stream (server-sent events); a server that does not answer becomes an error that says what we were doing. */
  async open(what: string, url: string, accept: string, deadline?: number): Promise<HttpStream> {
    try {
      return await this.http.open(url, accept, deadline)
    } catch (error) {
      throw this.unanswered(what, error)
    }
  }

  private unanswered(what: string, error: unknown): unknown {
    if (!(error instanceof FlowDispatchError)) return error
    switch (error.kind) {
      case 'transient':
      case 'unreachable':
        return new FlowDispatchError(error.kind, `Could not ${what}: ${this.serverName} did not answer (${error.message})`, {
          code: error.code
        })
      case 'input':
      case 'auth':
      case 'refused':
      case 'not-found':
      case 'tls':
      case 'server':
      case 'cancelled':
        return error
    }
  }

  /** The response when it is a success; otherwise the error a user can act on. */
  ok(response: HttpResponse, what: string): HttpResponse {
    const { status } = response
    if (status >= 200 && status < 300) return response
    const kind = kindOfStatus(status)
    throw new FlowDispatchError(kind, this.refusal(kind, status, what, explain(response)), { status })
  }

  /** What the server's refusal means, and what to check. */
  private refusal(kind: ErrorKind, status: number, what: string, detail: string): string {
    const server = this.serverName
    const { credentials, credentialHint, host } = this.options
    switch (kind) {
      case 'auth':
        return status === 401
          ? `Could not ${what}: ${server} refused the credentials (401 ${detail}). ${credentialHint(credentials)}`
          : `Could not ${what}: ${server} forbids it (${status} ${detail}). ${forbiddenHint(host, credentials, credentialHint)}`
      case 'refused':
        return `${server} rejected the request to ${what} (${status}): ${detail}`
      case 'not-found':
      case 'transient':
      case 'server':
      case 'input':
      case 'unreachable':
      case 'tls':
      case 'cancelled':
        return `Could not ${what}: ${server} answered ${status}: ${detail}`
    }
  }
}

/**
 * What to check when the server forbids a request: it names the credentials
 * that were sent, for a 403 is about what they may do, and it applies to
 * whatever request was forbidden (a look-up, a create, a log read, a cancel).
 */
function forbiddenHint(host: Host, credentials: Credentials, credentialHint: (credentials: Credentials) => string): string {
  switch (credentials.kind) {
    case 'none':
      return credentialHint(credentials)
    case 'bearer':
      return `Check that the account of the key in ${host.inputLabel('api-key')} (a user or a service account) is allowed to do this.`
    case 'basic':
      return `Check that the user in ${host.inputLabel('username')} is allowed to do this.`
  }
}

/** The Authorization line of a request shown to the user: its kind, never its value. */
export function describeAuthorization(credentials: Credentials): string {
  return `Authorization: ${credentials.kind === 'none' ? '(none)' : `${credentials.kind} (redacted)`}`
}

function clockOptions(clock: Clock): Pick<HttpOptions, 'now' | 'sleep'> {
  return { now: () => clock.now(), sleep: (ms) => clock.sleep(ms) }
}

function authorization(credentials: Credentials): Record<string, string> {
  switch (credentials.kind) {
    case 'none':
      return {}
    case 'bearer':
      return { authorization: `Bearer ${credentials.token}` }
    case 'basic':
      // inputs.ts registered the base64 form as a secret already.
      return { authorization: `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}` }
  }
}
