import * as core from '@actions/core'
import { setTimeout as sleep } from 'node:timers/promises'
import { cancelAndConfirm } from './cancel.js'
import { formatDuration } from './duration.js'
import { errorMessage } from './errors.js'
import { host } from './host.js'
import { getInputs, type Inputs, maskedSecrets } from './inputs.js'
import { KestraClient } from './kestra/client.js'
import { isTerminal, type LogFollower, type Orchestrator, type Run } from './orchestrator.js'
import { getOrigin } from './origin.js'
import { isTransient } from './remote.js'
import { PrefectClient } from './prefect/client.js'
import { type Outcome, outcomeOf, Report } from './report.js'
import { saveHandling, savedHandling, saveRun, saveTarget } from './state.js'
import { waitForRun } from './wait.js'
import pkg from '../package.json' with { type: 'json' }

export const USER_AGENT = `flow-dispatch/${pkg.version}`

/** The runner sends SIGTERM 7.5 s after SIGINT and kills the step 2.5 s later: cancel and confirm well before. */
const SIGNAL_BUDGET_MS = 6_000
const DRAIN_PAUSE_MS = 2_500
const TIMEOUT_CANCEL_BUDGET_MS = 60_000

export function createOrchestrator(inputs: Inputs): Orchestrator {
  switch (inputs.orchestrator) {
    case 'prefect':
      return new PrefectClient(inputs, getOrigin(), USER_AGENT)
    case 'kestra':
      return new KestraClient(inputs, getOrigin(), USER_AGENT)
  }
}

export function cancelReason(why: string): string {
  return `Cancelled by flow-dispatch: ${why} (${getOrigin().runUrl ?? 'run outside CI'})`
}

export interface RunResult {
  outcome: Outcome
  /** What stopped the step, when something did before the run had an outcome of its own. */
  error?: unknown
  jobCancelled: boolean
}

/**
 * The engine, for the action and the CLI alike: trigger, optionally wait,
 * report through the current host. Every failure ends in one `failStep`.
 */
export async function run(): Promise<RunResult> {
  const report = new Report()
  let failure: unknown
  const jobCancelled = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!jobCancelled.signal.aborted) host.info(`Received ${signal}: the job is being cancelled`)
    jobCancelled.abort(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const inputs = getInputs()
    const orchestrator = createOrchestrator(inputs)
    report.begin(orchestrator, { parameters: inputs.parameters, secrets: maskedSecrets(), summary: inputs.waiting.summary })
    // The timeout bounds the whole step: no request before the wait may outlive it either.
    const deadline = Date.now() + inputs.waiting.timeoutSeconds * 1000
    await orchestrator.prepare(deadline)
    if (inputs.dryRun) {
      host.info(`Dry run: nothing is created. The request that would be sent:\n${(await orchestrator.dryRun(deadline)).join('\n')}`)
      report.finish('dry-run')
      return report.result(false)
    }
    if (jobCancelled.signal.aborted) throw new Error('The job was cancelled before the run was created; nothing was created.')
    // Before the create: a step killed the moment the run exists leaves the post step all it needs.
    saveTarget(inputs)
    const run = await orchestrator.trigger(deadline)
    saveRun(run)
    report.created(run)
    if (!inputs.waiting.wait) {
      report.finish('triggered')
      return report.result(false)
    }
    let waited: Awaited<ReturnType<typeof waitForRun>>
    const follower = inputs.waiting.logs ? new LogPrinter(orchestrator, run, report) : undefined
    try {
      if (follower) host.startGroup(`${orchestrator.product} run '${run.name}': states and log`)
      const left = { ...inputs.waiting, timeoutSeconds: Math.max(0, (deadline - Date.now()) / 1000) }
      waited = await waitForRun(orchestrator, run, left, {
        onChange: (next) => report.changed(next),
        onHeartbeat: (next, seconds) => report.heartbeat(next, seconds),
        afterRead: follower && (async (until) => void (await follower.next(until))),
        signal: jobCancelled.signal
      })
      if (follower && waited.status.phase && isTerminal(waited.status.phase)) await follower.drain(deadline)
    } catch (error) {
      if (!jobCancelled.signal.aborted) throw error
      await onJobCancelled(orchestrator, run, inputs, report)
      return report.result(true)
    } finally {
      follower?.close()
      if (follower) host.endGroup()
    }
    const { status, timedOut } = waited
    if (timedOut || status.phase === undefined || !isTerminal(status.phase)) {
      await onTimeout(orchestrator, run, inputs, report)
      return report.result(false)
    }
    saveHandling('ended')
    const failing = inputs.waiting.failOn.has(status.state)
    const outcome = outcomeOf(status.phase)
    // A success-like state that fail-on names (Kestra's WARNING, say) is a failure for this step.
    report.finish(failing && outcome === 'success' ? 'failed' : outcome)
    if (failing) {
      const message = `${orchestrator.product} run ${run.id} ended ${status.state} (${status.stateName})${status.message ? `: ${status.message}` : ''} — ${run.url}`
      report.fail(message)
      failStep(message, `${orchestrator.product} run '${run.name}' ended ${status.state}`)
    }
  } catch (error) {
    failure = error
    // Stopped, not killed: the post step must not take this for a main step that never got to act.
    if (savedHandling() === 'watching') saveHandling('left-on-error')
    report.fail(errorMessage(error))
    failStep(errorMessage(error))
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await report.writeSummary()
  }
  return { ...report.result(jobCancelled.signal.aborted), error: failure }
}

async function onTimeout(orchestrator: Orchestrator, run: Run, inputs: Inputs, report: Report): Promise<void> {
  const limit = formatDuration(inputs.waiting.timeoutSeconds)
  const last = report.lastStatus ?? run.status
  let message = `${orchestrator.product} run ${run.id} did not end within the timeout of ${limit}; it was ${last.state} (${last.stateName})`
  if (inputs.waiting.cancelOn.timeout) {
    const { status, confirmed } = await cancelAndConfirm(
      orchestrator,
      run,
      last,
      cancelReason(`the wait timed out after ${limit}`),
      TIMEOUT_CANCEL_BUDGET_MS,
      (next) => report.changed(next)
    )
    saveHandling(confirmed ? 'ended' : 'cancel-asked')
    message += confirmed
      ? ` and was cancelled: it ended ${status.state} (${status.stateName}). ${run.url}`
      : `; cancelling it was asked for, but it was still ${status.state} (${status.stateName}) and may still be going: ${run.url}`
  } else {
    saveHandling('left-at-timeout')
    message += ` and may still be going (cancel-on leaves timeouts out): ${run.url}`
  }
  report.finish('timed-out', message)
  failStep(message, `${orchestrator.product} run '${run.name}' timed out after ${limit}`)
}

async function onJobCancelled(orchestrator: Orchestrator, run: Run, inputs: Inputs, report: Report): Promise<void> {
  const last = report.lastStatus ?? run.status
  if (!inputs.waiting.cancelOn.jobCancel) {
    saveHandling('left-at-job-cancel')
    const message = `The job was cancelled; ${orchestrator.product} run ${run.id} was left ${last.state}, as cancel-on asks: ${run.url}`
    report.finish('error', message)
    failStep(message, 'Job cancelled')
    return
  }
  const { status, confirmed } = await cancelAndConfirm(
    orchestrator,
    run,
    last,
    cancelReason('the job was cancelled'),
    SIGNAL_BUDGET_MS,
    (next) => report.changed(next)
  )
  saveHandling(confirmed ? 'ended' : 'cancel-asked')
  const message = confirmed
    ? `The job was cancelled, and so was ${orchestrator.product} run ${run.id}: it ended ${status.state} (${status.stateName}). ${run.url}`
    : `The job was cancelled; cancelling ${orchestrator.product} run ${run.id} was asked for, but it was still ${status.state} (${status.stateName}); the post step checks again. ${run.url}`
  report.finish(confirmed && status.phase && isTerminal(status.phase) ? outcomeOf(status.phase) : 'error', message)
  failStep(message, 'Job cancelled')
}

/** The one way the step fails: an error annotation, with a title when there is a run to name, and exit code 1. */
function failStep(message: string, title?: string): void {
  host.error(message, title)
  process.exitCode = core.ExitCode.Failure
}

/** Follows the run's log into the step's log; a log that cannot be read never fails the step. */
class LogPrinter {
  private broken = false
  private readonly follower: LogFollower

  constructor(
    private readonly orchestrator: Orchestrator,
    private readonly run: Run,
    private readonly report: Report
  ) {
    this.follower = orchestrator.logs(run.id)
  }

  /** Whether more lines may be waiting already. */
  async next(deadline: number, final = false): Promise<boolean> {
    if (this.broken) return false
    try {
      return await this.follower.next((lines) => this.report.logs(lines), deadline, final)
    } catch (error) {
      if (isTransient(error)) return false
      this.broken = true
      host.warning(`Stopped following the log of ${this.orchestrator.product} run ${this.run.id}: ${errorMessage(error)}`)
      return false
    }
  }

  /** Everything left, then once more a moment after the end: lines are shipped in batches, the last may come late. */
  async drain(deadline: number): Promise<void> {
    while ((await this.next(deadline)) && Date.now() < deadline);
    await sleep(Math.min(DRAIN_PAUSE_MS, Math.max(0, deadline - Date.now())))
    await this.next(deadline, true)
  }

  close(): void {
    this.follower.close()
  }
}
