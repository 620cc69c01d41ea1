import * as core from '@actions/core'
import { randomUUID } from 'node:crypto'

/** Text from the orchestrator (names, state messages, error bodies) goes out only through these. */

/**
 * Prints text that may come from the orchestrator. The runner reads a workflow
 * command only from a line that starts with `::` or holds `##[`; text that has
 * either goes between `stop-commands` markers with a token nobody can guess,
 * where the runner reads no command at all, whatever the text says.
 */
export function printUntrusted(text: string): void {
  if (!/::|##\[/.test(text)) {
    core.info(text)
    return
  }
  const token = randomUUID()
  core.info(`::stop-commands::${token}`)
  core.info(text)
  core.info(`::${token}::`)
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`|\\*_[\]]/g, (c) => `&#${c.charCodeAt(0)};`)
}
