import type { Host } from './host.js'
import { isOneOf, type Run } from './orchestrator.js'
import { type Inputs, moduleNamed, moduleOf } from './orchestrators.js'

/**
 * What the main step leaves for the post step: where the run is, and what the
 * main step decided about it, through the host's state (`GITHUB_STATE`). The
 * post step works from this alone, with the credentials read again from the
 * inputs: the state file is not masked on disk, so no secret goes in it.
 */

/**
 * What the main step decided about its run. The post step acts on the first
 * two only: every other one means the main step finished its own handling.
 */
export const HANDLINGS = [
  /** Waiting, and cancels per cancel-on if the job is cancelled: only a killed main step leaves this. */
  'watching',
  /** Asked for a cancel it could not see through: the post step checks again. */
  'cancel-asked',
  /** Saw the run end, on its own or by its cancel. */
  'ended',
  /** `wait: false`: left going on purpose. */
  'not-waited',
  /** Timed out, and cancel-on leaves timeouts out. */
  'left-at-timeout',
  /** The job was cancelled, and cancel-on leaves job cancellation out. */
  'left-at-job-cancel',
  /** Stopped on an error of its own, and left the run as it was. */
  'left-on-error'
] as const

export type Handling = (typeof HANDLINGS)[number]

const KEY = {
  isPost: 'isPost',
  orchestrator: 'orchestrator',
  server: 'server',
  cancelOnJobCancel: 'cancel-on-job-cancel',
  handling: 'handling',
  runId: 'run-id',
  runUrl: 'run-url'
} as const

export interface SavedRun {
  orchestrator: string
  /** The API base URL main used. */
  server: string
  /** What the orchestrator saved besides the server (Kestra's tenant), by name. */
  details?: Readonly<Record<string, string>>
  cancelOnJobCancel: boolean
  handling: Handling
  runId: string
  runUrl: string
}

/** The main step's side: it writes, and remembers what it wrote last. */
export class MainState {
  private last: Handling | undefined

  constructor(private readonly host: Host) {
    // The same bundle runs as the post step: this is how it knows which it is.
    host.saveState(KEY.isPost, 'true')
  }

  /** Before anything is created: where a run will be, and what main means to do with it. */
  saveTarget(inputs: Inputs): void {
    this.host.saveState(KEY.orchestrator, inputs.orchestrator)
    this.host.saveState(KEY.server, inputs.url)
    for (const [name, value] of Object.entries(moduleOf(inputs).saveTarget(inputs))) this.host.saveState(name, value)
    this.host.saveState(KEY.cancelOnJobCancel, String(inputs.waiting.cancelOn.jobCancel))
    this.handling = inputs.waiting.wait ? 'watching' : 'not-waited'
  }

  /** The moment the run exists. */
  saveRun(run: Run): void {
    this.host.saveState(KEY.runId, run.id)
    this.host.saveState(KEY.runUrl, run.url)
  }

  set handling(handling: Handling) {
    this.last = handling
    this.host.saveState(KEY.handling, handling)
  }

  /** What this step saved last, so that an error can settle a run main was still watching. */
  get handling(): Handling | undefined {
    return this.last
  }
}

/** Whether this process is the post step: the main step, which always runs first, said so. */
export function isPostStep(host: Host): boolean {
  return host.getState(KEY.isPost) === 'true'
}

/** Undefined when no run was created. Throws when the state is not what this version's main step saves. */
export function getSavedRun(host: Host): SavedRun | undefined {
  const runId = host.getState(KEY.runId)
  if (runId === '') return undefined
  const orchestrator = host.getState(KEY.orchestrator)
  const handling = host.getState(KEY.handling)
  const server = host.getState(KEY.server)
  const module = moduleNamed(orchestrator)
  const details = Object.fromEntries((module?.savedNames ?? []).map((name) => [name, host.getState(name)]))
  if (!module || !isOneOf(HANDLINGS, handling) || server === '' || Object.values(details).includes('')) {
    throw new Error(
      `the main step's saved state is incomplete (orchestrator '${orchestrator}', handling '${handling}', server '${server}')`
    )
  }
  return {
    orchestrator,
    server,
    details,
    cancelOnJobCancel: host.getState(KEY.cancelOnJobCancel) === 'true',
    handling,
    runId,
    runUrl: host.getState(KEY.runUrl)
  }
}
