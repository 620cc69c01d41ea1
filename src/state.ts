import * as core from '@actions/core'
import { host } from './host.js'
import type { Inputs } from './inputs.js'
import { isOneOf, type Run } from './orchestrator.js'

/**
 * What the main step leaves for the post step: where the run is, and what the
 * main step decided about it. The post step works from this alone, with the
 * credentials read again from the inputs: the state file is not masked on
 * disk, so no secret goes in it.
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
  orchestrator: 'orchestrator',
  server: 'server',
  tenant: 'tenant',
  cancelOnJobCancel: 'cancel-on-job-cancel',
  handling: 'handling',
  runId: 'run-id',
  runUrl: 'run-url'
} as const

const ORCHESTRATORS: readonly Inputs['orchestrator'][] = ['prefect', 'kestra']

/** Kestra servers older than 0.23 have no tenant; `none` is what the input says then, and never a tenant id. */
const NO_TENANT = 'none'

export interface SavedRun {
  orchestrator: Inputs['orchestrator']
  /** The API base URL main used. */
  server: string
  /** Kestra only; undefined for a server without tenants. */
  tenant?: string
  cancelOnJobCancel: boolean
  handling: Handling
  runId: string
  runUrl: string
}

let lastHandling: Handling | undefined

/** Before anything is created: where a run will be, and what main means to do with it. */
export function saveTarget(inputs: Inputs): void {
  host.saveState(KEY.orchestrator, inputs.orchestrator)
  host.saveState(KEY.server, inputs.url)
  if (inputs.orchestrator === 'kestra') host.saveState(KEY.tenant, inputs.tenant ?? NO_TENANT)
  host.saveState(KEY.cancelOnJobCancel, String(inputs.waiting.cancelOn.jobCancel))
  saveHandling(inputs.waiting.wait ? 'watching' : 'not-waited')
}

/** The moment the run exists. */
export function saveRun(run: Run): void {
  host.saveState(KEY.runId, run.id)
  host.saveState(KEY.runUrl, run.url)
}

export function saveHandling(handling: Handling): void {
  lastHandling = handling
  host.saveState(KEY.handling, handling)
}

/** What this process saved last, so that an error can settle a run main was still watching. */
export function savedHandling(): Handling | undefined {
  return lastHandling
}

/** Undefined when no run was created. Throws when the state is not what this version's main step saves. */
export function getSavedRun(): SavedRun | undefined {
  const runId = core.getState(KEY.runId)
  if (runId === '') return undefined
  const orchestrator = core.getState(KEY.orchestrator)
  const handling = core.getState(KEY.handling)
  const server = core.getState(KEY.server)
  const tenant = core.getState(KEY.tenant)
  if (
    !isOneOf(ORCHESTRATORS, orchestrator) ||
    !isOneOf(HANDLINGS, handling) ||
    server === '' ||
    (orchestrator === 'kestra' && tenant === '')
  ) {
    throw new Error(
      `the main step's saved state is incomplete (orchestrator '${orchestrator}', handling '${handling}', server '${server}')`
    )
  }
  return {
    orchestrator,
    server,
    tenant: orchestrator === 'kestra' && tenant !== NO_TENANT ? tenant : undefined,
    cancelOnJobCancel: core.getState(KEY.cancelOnJobCancel) === 'true',
    handling,
    runId,
    runUrl: core.getState(KEY.runUrl)
  }
}
