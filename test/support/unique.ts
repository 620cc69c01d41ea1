import { randomUUID } from 'node:crypto'

/** A tag (or label value) no other test uses, so a test can count exactly the runs it made. */
export function uniqueTag(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

/** A GITHUB_RUN_ID of its own: a step that must not share its idempotency key with any other run of the action. */
export function uniqueRunId(): string {
  return String(Math.floor(Math.random() * 1e9))
}
