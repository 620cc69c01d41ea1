import { setTimeout as sleep } from 'node:timers/promises'

/** Time as the engine sees it: deadlines, pauses and timing windows. Tests give one that does not wait. */
export interface Clock {
  now(): number
  /** Rejects with the signal's reason when it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal })
}
