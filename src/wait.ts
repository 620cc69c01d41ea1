import { setTimeout as sleep } from 'node:timers/promises'
import { RemoteError, errorMessage } from './errors.js'
import type { WaitSettings } from './inputs.js'
import { isTerminal, type Orchestrator, type Run, type RunStatus, sameState } from './orchestrator.js'
import { isTransient } from './remote.js'
import { host } from './host.js'

export interface WaitResult {
  status: RunStatus
  timedOut: boolean
}

export interface WaitHooks {
  /** Every change of state (not every read). */
  onChange(status: RunStatus): void
  /** At most once a minute (`heartbeatMs`) while nothing changes, so a long wait shows it is alive. */
  onHeartbeat?(status: RunStatus, waitedSeconds: number): void
  heartbeatMs?: number
  /** After each read; for following the run's log. */
  afterRead?(deadline: number): Promise<void>
  /** The job was cancelled: stop at once. */
  signal?: AbortSignal
}

/** The first pause between reads; it doubles up to the poll interval, so short runs are seen ending soon. */
const FIRST_PAUSE_MS = 1_000
const HEARTBEAT_MS = 60_000

/**
 * Reads the run until it reaches a terminal state or the timeout passes. A
 * transient read failure never ends the wait; a state this version does not
 * know does, at once.
 */
export async function waitForRun(
  orchestrator: Orchestrator,
  run: Run,
  settings: Pick<WaitSettings, 'timeoutSeconds' | 'pollIntervalSeconds'>,
  hooks: WaitHooks
): Promise<WaitResult> {
  const { signal } = hooks
  const started = Date.now()
  const deadline = started + settings.timeoutSeconds * 1000
  const maxPauseMs = settings.pollIntervalSeconds * 1000
  let status = run.status
  let pauseMs = FIRST_PAUSE_MS
  let lastNews = started
  for (;;) {
    if (status.phase === undefined) {
      throw new RemoteError(
        `${orchestrator.product} reported state '${status.state}' (${status.stateName}) for run ${run.id}, which this version of flow-dispatch does not know; not waiting on it. See ${run.url}`
      )
    }
    if (isTerminal(status.phase)) return { status, timedOut: false }
    const remainingMs = deadline - Date.now()
    if (remainingMs <= 0) return { status, timedOut: true }
    await sleep(Math.min(pauseMs, remainingMs), undefined, { signal })
    pauseMs = Math.min(pauseMs * 2, maxPauseMs)
    // A pause that ran to the deadline leaves no time for a read: it would only fail and say it will try again.
    if (Date.now() >= deadline) continue
    let next: RunStatus
    try {
      next = await abortable(orchestrator.read(run.id, deadline), signal)
    } catch (error) {
      if (signal?.aborted) throw error
      if (!isTransient(error)) throw error
      host.info(`Could not read the run's state, will try again: ${errorMessage(error)}`)
      continue
    }
    if (!sameState(next, status)) {
      hooks.onChange(next)
      lastNews = Date.now()
    } else if (Date.now() - lastNews >= (hooks.heartbeatMs ?? HEARTBEAT_MS)) {
      hooks.onHeartbeat?.(next, (Date.now() - started) / 1000)
      lastNews = Date.now()
    }
    status = next
    if (hooks.afterRead) await abortable(hooks.afterRead(deadline), signal)
  }
}

/** A read in flight must not hold up a cancelled job: the runner kills the step 10 s after SIGINT. */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
