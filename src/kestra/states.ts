import { isOneOf, type Phase } from '../orchestrator.js'

/** Kestra's `State.Type` enum, all of it, as its OpenAPI description gives it from 1.1 to 2.0. */
export const KESTRA_STATE_TYPES = [
  'CREATED',
  'SUBMITTED',
  'RUNNING',
  'PAUSED',
  'RESTARTED',
  'KILLING',
  'SUCCESS',
  'WARNING',
  'FAILED',
  'KILLED',
  'CANCELLED',
  'QUEUED',
  'RETRYING',
  'RETRIED',
  'SKIPPED',
  'BREAKPOINT',
  'RESUBMITTED'
] as const

export type KestraStateType = (typeof KESTRA_STATE_TYPES)[number]

/** `State.Type.isTerminated()` in Kestra's source. */
export const KESTRA_TERMINAL_STATES: readonly KestraStateType[] = [
  'SUCCESS',
  'WARNING',
  'FAILED',
  'KILLED',
  'CANCELLED',
  'RETRIED',
  'SKIPPED',
  'RESUBMITTED'
]

/**
 * Every terminal state but SUCCESS and WARNING: the run did not do its work.
 * RETRIED, SKIPPED and RESUBMITTED are task-run states in practice; should one
 * ever end an execution, it must not pass for a success.
 */
export const KESTRA_DEFAULT_FAIL_ON: readonly KestraStateType[] = ['FAILED', 'KILLED', 'CANCELLED', 'RETRIED', 'SKIPPED', 'RESUBMITTED']

/** Undefined for a type this version does not know, so the caller reports it instead of waiting on it. */
export function kestraPhase(type: string): Phase | undefined {
  if (!isOneOf(KESTRA_STATE_TYPES, type)) return undefined
  switch (type) {
    case 'CREATED':
    case 'SUBMITTED':
    // Held back by the flow's concurrency limit.
    case 'QUEUED':
      return 'pending'
    case 'RUNNING':
    case 'RESTARTED':
    case 'RETRYING':
      return 'running'
    // Both wait for a person (or a Pause task's delay); Kestra's own follow waits through them too.
    case 'PAUSED':
    case 'BREAKPOINT':
      return 'paused'
    case 'KILLING':
      return 'cancelling'
    // WARNING: it ended with warnings; it fails the step only when fail-on names it.
    case 'SUCCESS':
    case 'WARNING':
      return 'succeeded'
    case 'FAILED':
    case 'RETRIED':
    case 'RESUBMITTED':
      return 'failed'
    case 'KILLED':
    case 'CANCELLED':
    case 'SKIPPED':
      return 'cancelled'
  }
}
