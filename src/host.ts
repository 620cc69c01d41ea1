import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'

/**
 * What runs the engine: the Actions runner, or a terminal in another CI
 * system (the CLI). Every module reads its inputs and writes its log and
 * results through the current host, and nothing else; the action and the CLI
 * differ only in the host they install.
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
  setOutput(name: string, value: string): void
  /** For the post step of the action; nothing elsewhere. */
  saveState(name: string, value: string): void
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
export const actionsHost: Host = {
  input: (name) => core.getInput(name),
  inputLabel: (name) => `input '${name}'`,
  info: (text) => guardCommands(text, core.info),
  debug: (text) => core.debug(text),
  warning: (text) => core.warning(text),
  error: (text, title) => core.error(text, title ? { title } : undefined),
  startGroup: (name) => core.startGroup(name),
  endGroup: () => core.endGroup(),
  setSecret: (value) => core.setSecret(value),
  setOutput: (name, value) => core.setOutput(name, value),
  saveState: (name, value) => core.saveState(name, value)
}

export let host: Host = actionsHost

export function useHost(next: Host): void {
  host = next
}
