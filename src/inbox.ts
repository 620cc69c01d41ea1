import type { Clock } from './clock.js'
import type { RunStatus } from './orchestrator.js'

/**
 * Where the streams leave their news for the wait loop: the states they
 * announce, and a bell for anything else (log lines waiting, a stream opened
 * or lost). The loop sleeps until the bell or its own next read, whichever
 * comes first; a ring while it is busy is kept for its next sleep.
 */
export class Inbox {
  private statuses: RunStatus[] = []
  private rung = false
  private wake: (() => void) | undefined

  push(statuses: RunStatus[]): void {
    this.statuses.push(...statuses)
    this.ring()
  }

  ring(): void {
    this.rung = true
    this.wake?.()
  }

  /** The states pushed since the last call, in the order they came. */
  take(): RunStatus[] {
    return this.statuses.splice(0)
  }

  /** Until the bell rings, `ms` pass or `signal` aborts. */
  async sleep(ms: number, clock: Clock, signal?: AbortSignal): Promise<void> {
    if (!this.rung && ms > 0) {
      const stop = new AbortController()
      const onAbort = () => this.wake?.()
      signal?.addEventListener('abort', onAbort, { once: true })
      const bell = new Promise<void>((resolve) => (this.wake = resolve))
      // The pause cut short by the bell rejects with the abort: that is its normal end.
      const pause = clock.sleep(ms, stop.signal).catch((error: unknown) => {
        if (!stop.signal.aborted) throw error
      })
      try {
        await Promise.race([bell, pause])
      } finally {
        stop.abort()
        signal?.removeEventListener('abort', onAbort)
        this.wake = undefined
      }
    }
    this.rung = false
  }
}
