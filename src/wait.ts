import { type Clock, realClock } from './clock.js'
import { errorMessage, isTransient } from './errors.js'
import type { Inbox } from './inbox.js'
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
  /** The longest pause between two reads while no stream is live; the loop starts faster. */
  pollIntervalMs: number
  /** The job was cancelled: stop at once. */
  signal?: AbortSignal
  clock?: Clock
  /** Where the run's streams leave their news; without it, the loop only polls. */
  inbox?: Inbox
  /** The stream of the run's states, when there is one. */
  stream?: StateStream
}

/** What the loop needs to know of the state stream (a `Feed`). */
interface StateStream {
  readonly live: boolean
  /** Grows at each change of the stream's health. */
  readonly changes: number
  reopen(reason: string): void
}

/** The run's log as the loop drives it (`LogPrinter`). */
export interface WaitLogs {
  /** Prints what has been pushed; sends nothing. */
  flush(): void
  /** Brings the log up to date, asking the server when it must. */
  next(deadline: number): Promise<void>
  /** Whether the log must be asked for its lines each poll interval (no live stream for it). */
  readonly polled: boolean
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
  logs?: WaitLogs
}

/** The first pause between reads; it doubles up to the poll interval, so short runs are seen ending soon. */
const FIRST_PAUSE_MS = 1_000
const HEARTBEAT_MS = 60_000
/** While a stream of states is live, the run is still read this often, in case the stream stalls unseen. */
const SAFETY_READ_MS = 30_000
/** A state a read finds that the live stream has not sent, this long after it began, means the stream stalled. */
const STALL_GRACE_MS = 5_000

/**
 * Reads the run until it reaches a terminal state, the deadline passes, the
 * job is cancelled, or the orchestrator reports a state this version does not
 * know. A read that fails for good throws.
 *
 * With a live stream of states the loop sleeps until the stream has news and
 * reads the run only to confirm an end (the final state always comes from a
 * read) or, slowly, in case the stream stalled; without one it polls.
 */
export async function waitForRun(first: RunStatus, options: WaitOptions, hooks: WaitHooks): Promise<WaitResult> {
  const { deadline, signal, clock = realClock, inbox, stream } = options
  const started = clock.now()
  let status = first
  let pauseMs = FIRST_PAUSE_MS
  let lastNews = started
  let lastRead = started
  let lastLogRead = started
  let logPauseMs = FIRST_PAUSE_MS
  let streamChanges = stream?.changes ?? 0
  // A pushed end not yet confirmed by a read: read again soon, however live the stream.
  let endAnnounced = false
  // Once started, always started: a run back in SCHEDULED is waiting for a retry, not for a worker.
  let ranYet = false
  const changed = (next: RunStatus) => {
    hooks.onChange(next)
    lastNews = clock.now()
    status = next
  }
  for (;;) {
    if (status.phase === undefined) return { kind: 'unknown-state', status }
    if (isTerminal(status.phase)) return { kind: 'ended', status: { ...status, phase: status.phase } }
    ranYet ||= !waitsToStart(status.phase)
    const startBy = ranYet ? Number.POSITIVE_INFINITY : (options.startDeadline ?? Number.POSITIVE_INFINITY)
    const limit = Math.min(deadline, startBy)
    if (limit - clock.now() <= 0) return { kind: clock.now() >= deadline ? 'timed-out' : 'not-started', status }
    const readEvery = stream?.live && !endAnnounced ? Math.max(SAFETY_READ_MS, options.pollIntervalMs) : pauseMs
    // With the states pushed, a fast start buys nothing: the log is read at the poll interval (and at the end).
    const logsEvery = !hooks.logs?.polled ? Number.POSITIVE_INFINITY : stream?.live ? options.pollIntervalMs : logPauseMs
    const pause = Math.max(0, Math.min(lastRead + readEvery, lastLogRead + logsEvery, limit) - clock.now())
    const slept = await untilCancelled(
      (inbox ? inbox.sleep(pause, clock, signal) : clock.sleep(pause, signal)).then(() => true),
      signal
    )
    if (slept === undefined) return { kind: 'job-cancelled', status }
    // Only a read on the stream's own slow schedule may judge it: one made because it just opened finds what it missed.
    const safetyRead = stream?.live === true && !endAnnounced && clock.now() >= lastRead + readEvery
    let mustRead = clock.now() >= lastRead + readEvery || clock.now() >= startBy
    for (const pushed of inbox?.take() ?? []) {
      if (pushed.phase === undefined || isTerminal(pushed.phase)) {
        mustRead = endAnnounced = true
      } else if (!sameState(pushed, status) && !older(pushed, status)) {
        changed(pushed)
      }
    }
    // A stream that opened may have missed what happened before; one that closed may have missed the end.
    if (stream && stream.changes !== streamChanges) {
      streamChanges = stream.changes
      mustRead = true
    }
    hooks.logs?.flush()
    // A pause that ran to the deadline leaves no time for a read: it would only fail and say it will try again.
    // One that ran to the start deadline reads once more: the run may have started since the last read.
    if (clock.now() >= deadline) continue
    if (mustRead) {
      lastRead = clock.now()
      pauseMs = Math.min(pauseMs * 2, options.pollIntervalMs)
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
        if (safetyRead && stream?.live && missedSince(next, clock.now()) > STALL_GRACE_MS)
          stream.reopen(`a read found the run ${next.state} (${next.stateName}), which the stream had not sent`)
        changed(next)
      } else if (clock.now() - lastNews >= (hooks.heartbeatMs ?? HEARTBEAT_MS)) {
        hooks.onHeartbeat?.(next, (clock.now() - started) / 1000)
        lastNews = clock.now()
      }
      status = next
      if (endAnnounced && !isTerminal(next.phase ?? 'running')) pauseMs = FIRST_PAUSE_MS
    }
    if (hooks.logs && (mustRead || clock.now() >= lastLogRead + logsEvery)) {
      lastLogRead = clock.now()
      logPauseMs = Math.min(logPauseMs * 2, options.pollIntervalMs)
      if (
        (await untilCancelled(
          hooks.logs.next(deadline).then(() => true),
          signal
        )) === undefined
      )
        return { kind: 'job-cancelled', status }
    }
  }
}

/** A pushed state older than the one known came late (streams do not promise order): it is not news. */
function older(pushed: RunStatus, known: RunStatus): boolean {
  const a = pushed.since ? Date.parse(pushed.since) : Number.NaN
  const b = known.since ? Date.parse(known.since) : Number.NaN
  return a < b
}

/** How long ago, by our clock, the run entered the state a read found; 0 when the server does not say. */
function missedSince(status: RunStatus, now: number): number {
  const since = status.since ? Date.parse(status.since) : Number.NaN
  return Number.isFinite(since) ? now - since : 0
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
