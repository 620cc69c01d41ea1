import * as core from '@actions/core'
import { formatDuration } from './duration.js'
import { errorMessage } from './errors.js'
import { getInputs, type Inputs } from './inputs.js'
import { isTerminal, type Orchestrator } from './orchestrator.js'
import { getOrigin } from './origin.js'
import { KestraClient } from './kestra/client.js'
import { PrefectClient } from './prefect/client.js'
import { outcomeOf, Report } from './report.js'
import { waitForRun } from './wait.js'
import pkg from '../package.json' with { type: 'json' }

const USER_AGENT = `flow-dispatch/${pkg.version}`

export function createOrchestrator(inputs: Inputs): Orchestrator {
  switch (inputs.orchestrator) {
    case 'prefect':
      return new PrefectClient(inputs, getOrigin(), USER_AGENT)
    case 'kestra':
      return new KestraClient(inputs, getOrigin(), USER_AGENT)
  }
}

/** The action: trigger, optionally wait, report. Every failure ends in one `setFailed`. */
export async function run(): Promise<void> {
  const report = new Report()
  try {
    const inputs = getInputs()
    const orchestrator = createOrchestrator(inputs)
    report.begin(orchestrator)
    await orchestrator.prepare()
    const run = await orchestrator.trigger()
    report.created(run)
    if (!inputs.waiting.wait) {
      report.finish('triggered')
      return
    }
    const { status, timedOut } = await waitForRun(orchestrator, run, inputs.waiting, (next) => report.changed(next))
    if (timedOut || status.phase === undefined || !isTerminal(status.phase)) {
      const message = `${orchestrator.product} run ${run.id} did not end within the timeout of ${formatDuration(inputs.waiting.timeoutSeconds)}; it was ${status.state} (${status.stateName}) and may still be going: ${run.url}`
      report.finish('timed-out', message)
      core.setFailed(message)
      return
    }
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
    await report.writeSummary()
  }
}
