/**
 * Every failure the engine reports is a `FlowDispatchError` of one kind, set
 * where it is raised. Retrying, the CLI's exit code and what a message tells
 * the user to check are each one exhaustive switch on the kind, so a new kind
 * cannot be forgotten in any of them.
 */
export type ErrorKind =
  /** A bad input, found before any request is sent. */
  | 'input'
  /** The server refused the credentials (401) or forbids the request (403). */
  | 'auth'
  /** The server understood the request and refused it as invalid (400, 409, 422). */
  | 'refused'
  /** What the request names does not exist on the server (404). */
  | 'not-found'
  /** No answer, or an answer that may be different a moment later (408, 429, 500, 502-504, a dropped connection). */
  | 'transient'
  /** The server was never reached (refused connection, unknown name): the URL is wrong or the server down. */
  | 'unreachable'
  /** The TLS handshake failed: the same request fails the same way every time. */
  | 'tls'
  /** An answer we cannot use: another status, a body that is not what the API documents. */
  | 'server'
  /** The job was cancelled before the step could act. */
  | 'cancelled'

export class FlowDispatchError extends Error {
  readonly kind: ErrorKind
  /** HTTP status, when the server answered at all. */
  readonly status?: number
  /** Node's error code (`ECONNRESET`), for a request that got no answer. */
  readonly code?: string

  constructor(kind: ErrorKind, message: string, details: { status?: number; code?: string } = {}) {
    super(message)
    this.name = 'FlowDispatchError'
    this.kind = kind
    this.status = details.status
    this.code = details.code
  }
}

/**
 * A bad input. Its message names the input as the action does; a host that
 * names inputs otherwise (the CLI's `--deployment`) words it again from
 * `input` and `problem` (see `describeError`).
 */
export class InputError extends FlowDispatchError {
  readonly input: string
  readonly problem: string

  constructor(input: string, problem: string) {
    super('input', `Input '${input}' ${problem}`)
    this.name = 'InputError'
    this.input = input
    this.problem = problem
  }
}

/** The kind of an HTTP answer that is not a success. */
export function kindOfStatus(status: number): ErrorKind {
  switch (status) {
    case 401:
    case 403:
      return 'auth'
    case 404:
      return 'not-found'
    case 400:
    case 409:
    case 422:
      return 'refused'
    case 408:
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return 'transient'
    default:
      return 'server'
  }
}

/** Whether sending the same request again may get another answer. */
export function isRetryable(kind: ErrorKind): boolean {
  switch (kind) {
    case 'transient':
      return true
    case 'input':
    case 'auth':
    case 'refused':
    case 'not-found':
    case 'unreachable':
    case 'tls':
    case 'server':
    case 'cancelled':
      return false
  }
}

/** A failure that may pass by itself: worth going on waiting through, never worth failing a wait for. */
export function isTransient(error: unknown): boolean {
  return error instanceof FlowDispatchError && isRetryable(error.kind)
}

/** The error's message, with an input named as `label` names it. */
export function describeError(error: unknown, label: (input: string) => string = (input) => `input '${input}'`): string {
  if (error instanceof InputError) {
    const name = label(error.input)
    return `${name[0].toUpperCase()}${name.slice(1)} ${error.problem}`
  }
  return errorMessage(error)
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
