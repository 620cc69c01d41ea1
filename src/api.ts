import { RemoteError } from './errors.js'
import { host } from './host.js'
import { Http, type HttpRequest, type HttpResponse, type HttpStream, NetworkError } from './http.js'
import type { Credentials } from './inputs.js'
import { explain } from './remote.js'

export interface ApiOptions {
  /** `Prefect`, `Kestra`: for messages. */
  product: string
  /** The URL the user gave, for messages. */
  server: string
  credentials: Credentials
  userAgent: string
  headers?: Record<string, string>
  /** What to check when the server refuses the credentials, by kind of credentials; also what to set when it forbids a request sent without any. */
  credentialHint: (credentials: Credentials) => string
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
    this.http = new Http({ userAgent: options.userAgent, headers: { ...options.headers, ...authorization(options.credentials) } })
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
    return error instanceof NetworkError
      ? new NetworkError(`Could not ${what}: ${this.serverName} did not answer (${error.message})`, error.code)
      : error
  }

  /** The response when it is a success; otherwise the error a user can act on. */
  ok(response: HttpResponse, what: string): HttpResponse {
    const { status } = response
    if (status >= 200 && status < 300) return response
    const detail = explain(response)
    const server = this.serverName
    switch (status) {
      case 401:
        throw new RemoteError(
          `Could not ${what}: ${server} refused the credentials (401 ${detail}). ${this.options.credentialHint(this.options.credentials)}`,
          status
        )
      case 403:
        throw new RemoteError(
          `Could not ${what}: ${server} forbids it (403 ${detail}). ${forbiddenHint(this.options.credentials, this.options.credentialHint)}`,
          status
        )
      case 400:
      case 409:
      case 422:
        throw new RemoteError(`${server} rejected the request to ${what} (${status}): ${detail}`, status)
      default:
        throw new RemoteError(`Could not ${what}: ${server} answered ${status}: ${detail}`, status)
    }
  }
}

/**
 * What to check when the server forbids a request: it names the credentials
 * that were sent, for a 403 is about what they may do, and it applies to
 * whatever request was forbidden (a look-up, a create, a log read, a cancel).
 */
function forbiddenHint(credentials: Credentials, credentialHint: (credentials: Credentials) => string): string {
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
