import type { Clock } from './clock.js'
import type { WaitSettings } from './common-inputs.js'
import { formatDuration } from './duration.js'
import { errorMessage } from './errors.js'
import type { Host } from './host.js'
import { isTerminal, type Orchestrator, type Run, type RunStatus, sameState } from './orchestrator.js'
import { moduleNamed } from './orchestrators.js'
import type { Origin } from './origin.js'
import { outcomeOf, type Report } from './report.js'
import type { Handling, MainState, SavedRun } from './state.js'

/**
 * When flow-dispatch cancels a run, and how: the job's cancellation (a signal
 * to the main step, or the post step as a backstop), the timeout, and what
 * the post step does with what the main step left. Nothing else cancels.
 */

/** The runner sends SIGTERM 7.5 s after SIGINT and kills the step 2.5 s later: cancel and confirm well before. */
const SIGNAL_BUDGET_MS = 6_000
const TIMEOUT_BUDGET_MS = 60_000
const POST_BUDGET_MS = 60_000
const CONFIRM_PAUSE_MS = 500

/** The job's cancellation, as the runner tells it to the main step: SIGINT, then SIGTERM. */
export function watchJobCancellation(host: Host): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!controller.signal.aborted) host.info(`Received ${signal}: the job is being cancelled`)
    controller.abort(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: controller.signal,
    stop: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}

/**
 * Once the step's work is done, nothing left open may keep it alive: a request still in flight when the job
 * was cancelled (the runner kills the step 10 s after SIGINT), or a WebSocket whose close a stalled proxy never
 * answers (undici then holds its socket for half a minute). The timer does not itself keep the process up.
 */
export function exitSoon(): void {
  setTimeout(() => process.exit(), 300).unref()
}

function cancelReason(why: string, origin: Origin): string {
  return `Cancelled by flow-dispatch: ${why} (${origin.runUrl ?? 'run outside CI'})`
}

interface CancelResult {
  status: RunStatus
  /** The orchestrator reports the run ended (cancelled, or finished on its own first). */
  confirmed: boolean
}

/**
 * Asks the orchestrator to stop the run, then reads it until it has ended or
 * `budgetMs` has passed: a cancellation nobody confirmed is reported as such.
 */
async function cancelAndConfirm(
  { host, clock }: { host: Host; clock: Clock },
  orchestrator: Orchestrator,
  run: Pick<Run, 'id'>,
  last: RunStatus,
  reason: string,
  budgetMs: number,
  onChange: (status: RunStatus) => void
): Promise<CancelResult> {
  const deadline = clock.now() + budgetMs
  let status = last
  const see = (next: RunStatus): void => {
    if (!sameState(next, status)) onChange(next)
    status = next
  }
  try {
    see(await orchestrator.cancel(run.id, reason, deadline))
    while (!(status.phase && isTerminal(status.phase)) && clock.now() + CONFIRM_PAUSE_MS < deadline) {
      await clock.sleep(CONFIRM_PAUSE_MS)
      see(await orchestrator.read(run.id, deadline))
    }
  } catch (error) {
    host.info(`Could not cancel ${orchestrator.product} run ${run.id}: ${errorMessage(error)}`)
  }
  return { status, confirmed: status.phase !== undefined && isTerminal(status.phase) }
}

/** A run the main step was watching when its wait ended without the run ending. */
export interface Watch {
  host: Host
  clock: Clock
  origin: Origin
  orchestrator: Orchestrator
  run: Run
  waiting: WaitSettings
  report: Report
  state: MainState
}

/**
 * The wait timed out (`run`), or the run was still waiting to be started at
 * the start timeout (`start`): cancel the run if cancel-on says so, and fail
 * the step either way.
 */
export async function settleTimeout(
  { host, clock, origin, orchestrator, run, waiting, report, state }: Watch,
  last: RunStatus,
  which: 'run' | 'start'
): Promise<void> {
  const limit = formatDuration(which === 'run' ? waiting.timeoutSeconds : (waiting.startTimeoutSeconds ?? 0))
  let message =
    which === 'run'
      ? `${orchestrator.product} run ${run.id} did not end within the timeout of ${limit}; it was ${last.state} (${last.stateName})`
      : `${orchestrator.product} run ${run.id} did not start within the start timeout of ${limit}; it was still ${last.state} (${last.stateName}): ${orchestrator.notStartedHint}`
  if (waiting.cancelOn.timeout) {
    const reason = cancelReason(which === 'run' ? `the wait timed out after ${limit}` : `the run did not start within ${limit}`, origin)
    const { status, confirmed } = await cancelAndConfirm({ host, clock }, orchestrator, run, last, reason, TIMEOUT_BUDGET_MS, (next) =>
      report.changed(next)
    )
    state.handling = confirmed ? 'ended' : 'cancel-asked'
    message += confirmed
      ? ` and was cancelled: it ended ${status.state} (${status.stateName}). ${run.url}`
      : `; cancelling it was asked for, but it was still ${status.state} (${status.stateName}) and may still be going: ${run.url}`
  } else {
    state.handling = 'left-at-timeout'
    message += ` and may still be going (cancel-on leaves timeouts out): ${run.url}`
  }
  report.finish('timed-out', message)
  report.failStep(
    message,
    which === 'run'
      ? `${orchestrator.product} run '${run.name}' timed out after ${limit}`
      : `${orchestrator.product} run '${run.name}' did not start within ${limit}`
  )
}

/** The job was cancelled while the step waited: cancel the run if cancel-on says so. */
export async function settleJobCancel(
  { host, clock, origin, orchestrator, run, waiting, report, state }: Watch,
  last: RunStatus
): Promise<void> {
  if (!waiting.cancelOn.jobCancel) {
    state.handling = 'left-at-job-cancel'
    const message = `The job was cancelled; ${orchestrator.product} run ${run.id} was left ${last.state}, as cancel-on asks: ${run.url}`
    report.finish('error', message)
    report.failStep(message, 'Job cancelled')
    return
  }
  const reason = cancelReason('the job was cancelled', origin)
  const { status, confirmed } = await cancelAndConfirm({ host, clock }, orchestrator, run, last, reason, SIGNAL_BUDGET_MS, (next) =>
    report.changed(next)
  )
  state.handling = confirmed ? 'ended' : 'cancel-asked'
  const message = confirmed
    ? `The job was cancelled, and so was ${orchestrator.product} run ${run.id}: it ended ${status.state} (${status.stateName}). ${run.url}`
    : `The job was cancelled; cancelling ${orchestrator.product} run ${run.id} was asked for, but it was still ${status.state} (${status.stateName}); the post step checks again. ${run.url}`
  report.finish(confirmed && status.phase && isTerminal(status.phase) ? outcomeOf(status.phase) : 'error', message)
  report.failStep(message, 'Job cancelled')
}

export type PostDecision = { act: true } | { act: false; why: string }

/**
 * Whether the post step cancels the run: only when the main step was killed
 * while it still had the run to look after (or had asked for a cancel it
 * could not see through). Otherwise the main step's own decision stands, and
 * this says which.
 */
export function decide(saved: SavedRun): PostDecision {
  const run = `${moduleNamed(saved.orchestrator)?.product ?? saved.orchestrator} run ${saved.runId}`
  const handling: Handling = saved.handling
  switch (handling) {
    case 'watching':
      return saved.cancelOnJobCancel
        ? { act: true }
        : { act: false, why: `cancel-on leaves job cancellation out: ${run} is left as it is.` }
    case 'cancel-asked':
      return { act: true }
    case 'ended':
      return { act: false, why: `${run} had ended: nothing to cancel.` }
    case 'not-waited':
      return { act: false, why: `${run} was started with wait: false and is left going on purpose.` }
    case 'left-at-timeout':
      return { act: false, why: `${run} outlived the timeout and is left going, as cancel-on asks (it leaves timeouts out).` }
    case 'left-at-job-cancel':
      return { act: false, why: `${run} is left going, as cancel-on asks (it leaves job cancellation out).` }
    case 'left-on-error':
      return {
        act: false,
        why: `The main step stopped on an error and left ${run} as it was; only a run whose main step was killed is cancelled here.`
      }
  }
}

/** The post step's cancel of a run its killed main step left: it only ever warns, for a cleanup must not fail a cancelled job. */
export async function cancelLeftRun(
  { host, clock }: { host: Host; clock: Clock },
  origin: Origin,
  orchestrator: Orchestrator,
  saved: SavedRun
): Promise<void> {
  const { runId, runUrl } = saved
  const status = await orchestrator.read(runId)
  if (status.phase && isTerminal(status.phase)) {
    host.info(`${orchestrator.product} run ${runId} had ended ${status.state}: nothing to cancel.`)
    return
  }
  const reason = cancelReason('the GitHub job was cancelled', origin)
  const result = await cancelAndConfirm({ host, clock }, orchestrator, { id: runId }, status, reason, POST_BUDGET_MS, (next) =>
    host.info(`${orchestrator.product} run ${runId}: ${next.state} (${next.stateName})`)
  )
  if (result.confirmed) host.info(`Cancelled ${orchestrator.product} run ${runId}: it ended ${result.status.state}. ${runUrl}`)
  else host.warning(`Asked ${orchestrator.product} to cancel run ${runId}, but it was still ${result.status.state}: ${runUrl}`)
}
