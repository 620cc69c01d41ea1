import { setImmediate as turn } from 'node:timers/promises'

/**
 * A clock for code that takes `now` and `sleep`: it stands still but for the
 * pauses the code takes, which it notes instead of waiting them out. A test
 * of backoff, Retry-After or a deadline then asserts the pauses themselves,
 * and takes no time.
 */
export interface FakeClock {
  now: () => number
  sleep: (ms: number) => Promise<void>
  /** Every pause asked for, in order. */
  pauses: number[]
}

export function fakeClock(start = Date.parse('2026-11-22T18:00:00Z')): FakeClock {
  let time = start
  const pauses: number[] = []
  return {
    now: () => time,
    sleep: async (ms) => {
      pauses.push(ms)
      time += ms
      // One turn of the event loop, as a real pause gives: what a socket has received by then is delivered, so code
      // that pauses while a stream comes in (the Kestra log follower) sees it come in, in pauses, not in wall time.
      await turn()
    },
    pauses
  }
}
