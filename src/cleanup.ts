import * as core from '@actions/core'
import { cancelAndConfirm } from './cancel.js'
import { errorMessage } from './errors.js'
import { host } from './host.js'
import { getInputs } from './inputs.js'
import { cancelReason, createOrchestrator, STATE } from './main.js'
import { isTerminal } from './orchestrator.js'

const POST_CANCEL_BUDGET_MS = 60_000

/**
 * The post step, run when the job was cancelled: the backstop for a main step
 * that was killed before it could cancel the run it had created. It only ever
 * warns: a cleanup must not turn a cancelled job into a failed one.
 */
export async function post(): Promise<void> {
  const runId = core.getState(STATE.runId)
  if (!runId) {
    host.info('No run was created: nothing to cancel.')
    return
  }
  if (core.getState(STATE.ended)) {
    host.info(`Run ${runId} had ended: nothing to cancel.`)
    return
  }
  try {
    const inputs = getInputs()
    if (!inputs.waiting.cancelOn.jobCancel) {
      host.info(`cancel-on leaves job cancellation out: run ${runId} is left as it is.`)
      return
    }
    const orchestrator = createOrchestrator(inputs)
    const status = await orchestrator.read(runId)
    if (status.phase && isTerminal(status.phase)) {
      host.untrusted(`${orchestrator.product} run ${runId} had ended ${status.state}: nothing to cancel.`)
      return
    }
    const run = { id: runId, name: runId, url: orchestrator.runUrl(runId), created: true, status }
    const result = await cancelAndConfirm(orchestrator, run, status, cancelReason('the GitHub job was cancelled'), POST_CANCEL_BUDGET_MS, (next) =>
      host.untrusted(`${orchestrator.product} run ${runId}: ${next.state} (${next.stateName})`)
    )
    if (result.confirmed) host.untrusted(`Cancelled ${orchestrator.product} run ${runId}: it ended ${result.status.state}. ${run.url}`)
    else host.warning(`Asked ${orchestrator.product} to cancel run ${runId}, but it was still ${result.status.state}: ${run.url}`)
  } catch (error) {
    host.warning(`Could not cancel run ${runId}: ${errorMessage(error)}`)
  }
}
