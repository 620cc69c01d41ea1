import { type Clock, realClock } from './clock.js'
import { errorMessage, isTransient } from './errors.js'
import { isTerminal, type Phase, type RunStatus, sameState, type TerminalPhase } from './orchestrator.js'

/** How a wait ended: the engine settles each in one exhaustive switch. */
export type WaitResult =
  | { kind: 'ended'; status: RunStatus & { phase: TerminalPhase } }
  | { kind: 'timed-out'; status: RunStatus }
  /** The start deadline passed while the run still waited to be started: nobody picked it up. */
  | { kind: 'not-started'; status: RunStatus }
  | { kind: 'job-cancelled'; status: RunStatus }
  /** The orchestrator reported a state this version does not know: it is reported, never waited on. */
  | { kind: 'unknown-state'; status: RunStatus }

export interface WaitOptions {
  /** Epoch ms: no read starts after it, none outlives it. */
  deadline: number
  /** Epoch ms by which the run must have started (left scheduled and pending); none when undefined. */
  startDeadline?: number
  /** The longest pause between two reads; the loop starts faster. */
  pollIntervalMs: number
  /** The job was cancelled: stop at once. */
  signal?: AbortSignal
  clock?: Clock
}

export interface WaitHooks {
  /** Reads the run's state; an error the orchestrator may get over (`isTransient`) does not end the wait. */
  read(deadline: number): Promise<RunStatus>
  /** Every change of state (not every read). */
  onChange(status: RunStatus): void
  /** At most once a minute (`heartbeatMs`) while nothing changes, so a long wait shows it is alive. */
  onHeartbeat?(status: RunStatus, waitedSeconds: number): void
  heartbeatMs?: number
  /** A read that failed and will be tried again. */
  onRetry?(message: string): void
  /** After each read; for following the run's log. */
  afterRead?(deadline: number): Promise<void>
}

/** The first pause between reads; it doubles up to the poll interval, so short runs are seen ending soon. */
const FIRST_PAUSE_MS = 1_000
const HEARTBEAT_MS = 60_000

/**
 * Reads the run until it reaches a terminal state, the deadline passes, the
 * job is cancelled, or the orchestrator reports a state this version does not
 * know. A read that fails for good throws.
 */
export async function waitForRun(first: RunStatus, options: WaitOptions, hooks: WaitHooks): Promise<WaitResult> {
  const { deadline, signal, clock = realClock } = options
  const started = clock.now()
  let status = first
  let pauseMs = FIRST_PAUSE_MS
  let lastNews = started
  // Once started, always started: a run back in SCHEDULED is waiting for a retry, not for a worker.
  let ranYet = false
  for (;;) {
    if (status.phase === undefined) return { kind: 'unknown-state', status }
    if (isTerminal(status.phase)) return { kind: 'ended', status: { ...status, phase: status.phase } }
    ranYet ||= !waitsToStart(status.phase)
    const startBy = ranYet ? Number.POSITIVE_INFINITY : (options.startDeadline ?? Number.POSITIVE_INFINITY)
    const remainingMs = Math.min(deadline, startBy) - clock.now()
    if (remainingMs <= 0) return { kind: clock.now() >= deadline ? 'timed-out' : 'not-started', status }
    const slept = await untilCancelled(
      clock.sleep(Math.min(pauseMs, remainingMs), signal).then(() => true),
      signal
    )
    if (slept === undefined) return { kind: 'job-cancelled', status }
    pauseMs = Math.min(pauseMs * 2, options.pollIntervalMs)
    // A pause that ran to the deadline leaves no time for a read: it would only fail and say it will try again.
    // One that ran to the start deadline reads once more: the run may have started since the last read.
    if (clock.now() >= deadline) continue
    let next: RunStatus
    try {
      const read = await untilCancelled(hooks.read(deadline), signal)
      if (read === undefined) return { kind: 'job-cancelled', status }
      next = read
    } catch (error) {
      if (!isTransient(error)) throw error
      hooks.onRetry?.(`Could not read the run's state, will try again: ${errorMessage(error)}`)
      continue
    }
    if (!sameState(next, status)) {
      hooks.onChange(next)
      lastNews = clock.now()
    } else if (clock.now() - lastNews >= (hooks.heartbeatMs ?? HEARTBEAT_MS)) {
      hooks.onHeartbeat?.(next, (clock.now() - started) / 1000)
      lastNews = clock.now()
    }
    status = next
    if (
      hooks.afterRead &&
      (await untilCancelled(
        hooks.afterRead(deadline).then(() => true),
        signal
      )) === undefined
    ) {
      return { kind: 'job-cancelled', status }
    }
  }
}

/**
 * The promise's value, or undefined as soon as the job is cancelled: a read
 * in flight must not hold up a cancelled job, which the runner kills 10 s
 * after SIGINT. A failure of the promise after that is of no interest.
 */
async function untilCancelled<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T | undefined> {
  if (!signal) return promise
  if (signal.aborted) {
    // Not awaited from here on: its failure must not surface as an unhandled rejection.
    promise.catch(() => undefined)
    return undefined
  }
  let onAbort: (() => void) | undefined
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } catch (error) {
    if (signal.aborted) return undefined
    throw error
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}

/** Whether a run in this phase has yet to be started by a worker (or an executor). */
function waitsToStart(phase: Phase): boolean {
  switch (phase) {
    case 'scheduled':
    case 'pending':
      return true
    case 'running':
    case 'paused':
    case 'cancelling':
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return false
  }
}
