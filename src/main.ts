import * as core from '@actions/core'
import { cancelAndConfirm } from './cancel.js'
import { formatDuration } from './duration.js'
import { errorMessage } from './errors.js'
import { getInputs, type Inputs } from './inputs.js'
import { KestraClient } from './kestra/client.js'
import { isTerminal, type Orchestrator, type Run } from './orchestrator.js'
import { getOrigin } from './origin.js'
import { PrefectClient } from './prefect/client.js'
import { outcomeOf, Report } from './report.js'
import { waitForRun } from './wait.js'
import pkg from '../package.json' with { type: 'json' }

const USER_AGENT = `flow-dispatch/${pkg.version}`

/** What the main step leaves for the post step, which cancels a run the main step could not. */
export const STATE = { runId: 'run-id', ended: 'run-ended' } as const

/** The runner sends SIGTERM 7.5 s after SIGINT and kills the step 2.5 s later: cancel and confirm well before. */
const SIGNAL_BUDGET_MS = 6_000
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
  return `Cancelled by flow-dispatch: ${why} (${getOrigin().runUrl ?? 'run outside GitHub Actions'})`
}

/**
 * The action: trigger, optionally wait, report. Every failure ends in one
 * `setFailed`. Says whether the job was cancelled meanwhile.
 */
export async function run(): Promise<{ jobCancelled: boolean }> {
  const report = new Report()
  const jobCancelled = new AbortController()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (!jobCancelled.signal.aborted) core.info(`Received ${signal}: the job is being cancelled`)
    jobCancelled.abort(signal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const inputs = getInputs()
    const orchestrator = createOrchestrator(inputs)
    report.begin(orchestrator)
    // The timeout bounds the whole step: no request before the wait may outlive it either.
    const deadline = Date.now() + inputs.waiting.timeoutSeconds * 1000
    await orchestrator.prepare(deadline)
    if (jobCancelled.signal.aborted) throw new Error('The job was cancelled before the run was created; nothing was created.')
    const run = await orchestrator.trigger(deadline)
    core.saveState(STATE.runId, run.id)
    report.created(run)
    if (!inputs.waiting.wait) {
      report.finish('triggered')
      return { jobCancelled: false }
    }
    let waited
    try {
      const left = { ...inputs.waiting, timeoutSeconds: Math.max(0, (deadline - Date.now()) / 1000) }
      waited = await waitForRun(orchestrator, run, left, (next) => report.changed(next), jobCancelled.signal)
    } catch (error) {
      if (!jobCancelled.signal.aborted) throw error
      await onJobCancelled(orchestrator, run, inputs, report)
      return { jobCancelled: true }
    }
    const { status, timedOut } = waited
    if (timedOut || status.phase === undefined || !isTerminal(status.phase)) {
      await onTimeout(orchestrator, run, inputs, report)
      return { jobCancelled: false }
    }
    core.saveState(STATE.ended, 'true')
    const failing = inputs.waiting.failOn.has(status.state)
    const outcome = outcomeOf(status.phase)
    // A success-like state that fail-on names (Kestra's WARNING, say) is a failure for this step.
    report.finish(failing && outcome === 'success' ? 'failed' : outcome)
    if (failing) {
      const message = `${orchestrator.product} run ${run.id} ended ${status.state} (${status.stateName})${status.message ? `: ${status.message}` : ''} — ${run.url}`
      report.fail(message)
      core.setFailed(message)
    }
  } catch (error) {
    report.fail(errorMessage(error))
    core.setFailed(errorMessage(error))
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await report.writeSummary()
  }
  return { jobCancelled: jobCancelled.signal.aborted }
}

async function onTimeout(orchestrator: Orchestrator, run: Run, inputs: Inputs, report: Report): Promise<void> {
  const limit = formatDuration(inputs.waiting.timeoutSeconds)
  const last = report.lastStatus ?? run.status
  let message = `${orchestrator.product} run ${run.id} did not end within the timeout of ${limit}; it was ${last.state} (${last.stateName})`
  if (inputs.waiting.cancelOn.timeout) {
    const { status, confirmed } = await cancelAndConfirm(orchestrator, run, last, cancelReason(`the wait timed out after ${limit}`), TIMEOUT_CANCEL_BUDGET_MS, (next) =>
      report.changed(next)
    )
    if (confirmed) core.saveState(STATE.ended, 'true')
    message += confirmed
      ? ` and was cancelled: it ended ${status.state} (${status.stateName}). ${run.url}`
      : `; cancelling it was asked for, but it was still ${status.state} (${status.stateName}) and may still be going: ${run.url}`
  } else {
    message += ` and may still be going (cancel-on leaves timeouts out): ${run.url}`
  }
  report.finish('timed-out', message)
  core.setFailed(message)
}

async function onJobCancelled(orchestrator: Orchestrator, run: Run, inputs: Inputs, report: Report): Promise<void> {
  const last = report.lastStatus ?? run.status
  if (!inputs.waiting.cancelOn.jobCancel) {
    const message = `The job was cancelled; ${orchestrator.product} run ${run.id} was left ${last.state}, as cancel-on asks: ${run.url}`
    report.finish('error', message)
    core.setFailed(message)
    return
  }
  const { status, confirmed } = await cancelAndConfirm(orchestrator, run, last, cancelReason('the GitHub job was cancelled'), SIGNAL_BUDGET_MS, (next) =>
    report.changed(next)
  )
  if (confirmed) core.saveState(STATE.ended, 'true')
  const message = confirmed
    ? `The job was cancelled, and so was ${orchestrator.product} run ${run.id}: it ended ${status.state} (${status.stateName}). ${run.url}`
    : `The job was cancelled; cancelling ${orchestrator.product} run ${run.id} was asked for, but it was still ${status.state} (${status.stateName}); the post step checks again. ${run.url}`
  report.finish(confirmed && status.phase && isTerminal(status.phase) ? outcomeOf(status.phase) : 'error', message)
  core.setFailed(message)
}
