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

/** The latest of some ISO 8601 times, whatever their offsets; those that are not times are left out. */
export function latestTime(...times: Array<string | null | undefined>): string | undefined {
  return times
    .filter((time): time is string => typeof time === 'string' && !Number.isNaN(Date.parse(time)))
    .sort((a, b) => Date.parse(a) - Date.parse(b))
    .at(-1)
}
