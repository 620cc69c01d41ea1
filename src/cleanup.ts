import * as core from '@actions/core'
import { cancelAndConfirm } from './cancel.js'
import { errorMessage } from './errors.js'
import { getInputs } from './inputs.js'
import { cancelReason, createOrchestrator, STATE } from './main.js'
import { isTerminal } from './orchestrator.js'
import { printUntrusted } from './untrusted.js'

const POST_CANCEL_BUDGET_MS = 60_000

/**
 * The post step, run when the job was cancelled: the backstop for a main step
 * that was killed before it could cancel the run it had created. It only ever
 * warns: a cleanup must not turn a cancelled job into a failed one.
 */
export async function post(): Promise<void> {
  const runId = core.getState(STATE.runId)
  if (!runId) {
    core.info('No run was created: nothing to cancel.')
    return
  }
  if (core.getState(STATE.ended)) {
    core.info(`Run ${runId} had ended: nothing to cancel.`)
    return
  }
  try {
    const inputs = getInputs()
    if (!inputs.waiting.cancelOn.jobCancel) {
      core.info(`cancel-on leaves job cancellation out: run ${runId} is left as it is.`)
      return
    }
    const orchestrator = createOrchestrator(inputs)
    const status = await orchestrator.read(runId)
    if (status.phase && isTerminal(status.phase)) {
      printUntrusted(`${orchestrator.product} run ${runId} had ended ${status.state}: nothing to cancel.`)
      return
    }
    const run = { id: runId, name: runId, url: orchestrator.runUrl(runId), created: true, status }
    const result = await cancelAndConfirm(orchestrator, run, status, cancelReason('the GitHub job was cancelled'), POST_CANCEL_BUDGET_MS, (next) =>
      printUntrusted(`${orchestrator.product} run ${runId}: ${next.state} (${next.stateName})`)
    )
    if (result.confirmed) printUntrusted(`Cancelled ${orchestrator.product} run ${runId}: it ended ${result.status.state}. ${run.url}`)
    else core.warning(`Asked ${orchestrator.product} to cancel run ${runId}, but it was still ${result.status.state}: ${run.url}`)
  } catch (error) {
    core.warning(`Could not cancel run ${runId}: ${errorMessage(error)}`)
  }
}
