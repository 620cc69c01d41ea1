import { host } from './host.js'

/**
 * Every failure the action reports goes through one of these, so `main` can turn
 * it into one failed step (an error annotation and exit code 1) with a message a user can act on, and the
 * `outcome` output can say whether the run itself failed or we could not reach it.
 */

/** A bad input, found before any request is sent. */
export class InputError extends Error {
  readonly input: string

  constructor(input: string, problem: string) {
    const label = host.inputLabel(input)
    super(`${label[0].toUpperCase()}${label.slice(1)} ${problem}`)
    this.name = 'InputError'
    this.input = input
  }
}

/** The orchestrator answered, or failed to answer, in a way that stops us. */
export class RemoteError extends Error {
  /** HTTP status, when the server answered at all. */
  readonly status?: number

  constructor(message: string, status?: number) {
    super(message)
    this.name = 'RemoteError'
    this.status = status
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
