import type { Phase } from './orchestrator.js'

/**
 * What a run produced, shown in the summary and the outputs: read once, when
 * the wait is over, from whatever the orchestrator keeps (Prefect's artifacts
 * and task runs, Kestra's task runs).
 */
export interface RunResults {
  /** The newest version of each key, then the artifacts without a key; oldest first. */
  artifacts: Artifact[]
  /** The run's task runs, in the order they started. */
  taskRuns: TaskRun[]
  /** How many more the orchestrator holds than were read: lists are read up to a limit. */
  omitted: { artifacts: number; taskRuns: number }
}

/** An artifact as the step shows it, whatever its type; the orchestrator's raw form is not kept. */
export type Artifact = { key?: string; description?: string; created?: string } & (
  | { type: 'markdown'; markdown: string }
  | { type: 'table'; columns: string[]; rows: unknown[][] }
  | { type: 'link'; url: string; text?: string }
  /** 0 to 100. */
  | { type: 'progress'; percent: number }
  | { type: 'image'; url: string }
  /** A type this version does not render: named, never dropped. */
  | { type: 'other'; kind: string; data: unknown }
)

export interface TaskRun {
  id: string
  /** The task run's name (Prefect: `load-2ab`, Kestra: the task id, with its value in a loop). */
  name: string
  /** The orchestrator's state type, e.g. `COMPLETED`, `SUCCESS`. */
  state: string
  stateName: string
  phase: Phase | undefined
  /** ISO 8601, when it started running; absent for one that never ran. */
  start?: string
  /** ISO 8601, when it ended; absent for one that has not. */
  end?: string
  /** Seconds it ran, when the orchestrator knows. */
  seconds?: number
}
