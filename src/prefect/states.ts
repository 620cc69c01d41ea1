import { isOneOf, type Phase } from '../orchestrator.js'

/** Prefect's `StateType` enum (prefect/server/schemas/states.py), all of it. */
export const PREFECT_STATE_TYPES = [
  'SCHEDULED',
  'PENDING',
  'RUNNING',
  'PAUSED',
  'CANCELLING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'CRASHED'
] as const

export type PrefectStateType = (typeof PREFECT_STATE_TYPES)[number]

/** `TERMINAL_STATES` in Prefect's source: the only types a run never leaves. */
export const PREFECT_TERMINAL_STATES: readonly PrefectStateType[] = ['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']

export const PREFECT_DEFAULT_FAIL_ON: readonly PrefectStateType[] = ['FAILED', 'CRASHED', 'CANCELLED']

/** Undefined for a type this version does not know, so the caller reports it instead of waiting on it. */
export function prefectPhase(type: string): Phase | undefined {
  if (!isOneOf(PREFECT_STATE_TYPES, type)) return undefined
  switch (type) {
    // Late, AwaitingRetry, AwaitingConcurrencySlot and Resuming are all SCHEDULED by type.
    case 'SCHEDULED':
      return 'scheduled'
    case 'PENDING':
      return 'pending'
    case 'RUNNING':
      return 'running'
    // Paused or Suspended: it waits for input, and fails by itself when its own timeout ends.
    case 'PAUSED':
      return 'paused'
    // Not final: the worker or serve process still has to stop the infrastructure.
    case 'CANCELLING':
      return 'cancelling'
    case 'COMPLETED':
      return 'succeeded'
    case 'FAILED':
    case 'CRASHED':
      return 'failed'
    case 'CANCELLED':
      return 'cancelled'
  }
}
