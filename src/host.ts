import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'

/**
 * What runs the engine: the Actions runner, or a terminal in another CI
 * system (the CLI). The engine is given one and reads its inputs and writes
 * its log, outputs, state and summary through it, and nothing else; the
 * action and the CLI differ only in the host they pass.
 */
export interface Host {
  /** The input's value, trimmed; empty when unset. */
  input(name: string): string
  /** How a message names an input: `input 'deployment'`, or `--deployment` on a command line. */
  inputLabel(name: string): string
  /** A line that may hold the orchestrator's text: it is shown, and can never act as a command. */
  info(text: string): void
  debug(text: string): void
  warning(text: string): void
  /** The failure of the step, with a short title when there is a run to name. */
  error(text: string, title?: string): void
  startGroup(name: string): void
  endGroup(): void
  /** A value that must never be shown, nor anything that contains it. */
  setSecret(value: string): void
  /** Every value given to `setSecret` so far, and later ones too: the summary redacts them when it is written. */
  readonly secrets: ReadonlySet<string>
  setOutput(name: string, value: string): void
  /** For the post step of the action; nothing elsewhere. */
  saveState(name: string, value: string): void
  /** What the main step saved; empty when nothing was (always, outside the action). */
  getState(name: string): string
  /** The job summary, when the CI system has one (`GITHUB_STEP_SUMMARY`). */
  summary(): typeof core.summary | undefined
}

/** Runs `body` inside a group of the log, closed however it ends. */
export async function inGroup<T>(host: Host, name: string | undefined, body: () => Promise<T>): Promise<T> {
  if (name === undefined) return body()
  host.startGroup(name)
  try {
    return await body()
  } finally {
    host.endGroup()
  }
}

/** Where the runner's summary is, for any host that runs inside a GitHub Actions step. */
export function stepSummary(): typeof core.summary | undefined {
  return process.env.GITHUB_STEP_SUMMARY ? core.summary : undefined
}

/**
 * Writes `text` so that the Actions runner reads no workflow command in it.
 * The runner reads one only from a line that starts with `::` or holds `##[`;
 * text that has either goes between `stop-commands` markers with a token
 * nobody can guess, where the runner reads no command at all, whatever the
 * text says.
 */
export function guardCommands(text: string, write: (line: string) => void): void {
  if (!/::|##\[/.test(text)) {
    write(text)
    return
  }
  const token = randomUUID()
  write(`::stop-commands::${token}`)
  write(text)
  write(`::${token}::`)
}

/**
 * The Actions runner: workflow commands on stdout, files for outputs and state.
 * `core.info` writes its text as it is, so it is guarded whatever its caller
 * thought of the text (a run id read back from the state is the server's text
 * too). The other messages cannot hold a command: @actions/core writes each as
 * one command line (`::error title=…::…`) with `%`, CR and LF escaped in the
 * message, and `:` and `,` too in properties, and the runner reads one command
 * a line, from its start, so a `::set-output` inside is only the message's text.
 */
export class ActionsHost implements Host {
  private readonly masked = new Set<string>()

  get secrets(): ReadonlySet<string> {
    return this.masked
  }

  input(name: string): string {
    return core.getInput(name)
  }

  inputLabel(name: string): string {
    return `input '${name}'`
  }

  info(text: string): void {
    guardCommands(text, core.info)
  }

  debug(text: string): void {
    core.debug(text)
  }

  warning(text: string): void {
    core.warning(text)
  }

  error(text: string, title?: string): void {
    core.error(text, title ? { title } : undefined)
  }

  startGroup(name: string): void {
    core.startGroup(name)
  }

  endGroup(): void {
    core.endGroup()
  }

  setSecret(value: string): void {
    if (value === '' || this.masked.has(value)) return
    core.setSecret(value)
    this.masked.add(value)
  }

  setOutput(name: string, value: string): void {
    core.setOutput(name, value)
  }

  saveState(name: string, value: string): void {
    core.saveState(name, value)
  }

  getState(name: string): string {
    return core.getState(name)
  }

  summary(): typeof core.summary | undefined {
    return stepSummary()
  }
}
