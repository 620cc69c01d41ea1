import { cancelAndConfirm } from './cancel.js'
import { errorMessage } from './errors.js'
import { host } from './host.js'
import { type Credentials, getCredentials, type Inputs, type WaitSettings } from './inputs.js'
import { KestraClient } from './kestra/client.js'
import { cancelReason, USER_AGENT } from './main.js'
import { isTerminal, type Orchestrator } from './orchestrator.js'
import { getOrigin } from './origin.js'
import { PrefectClient } from './prefect/client.js'
import { getSavedRun, type SavedRun } from './state.js'

const POST_CANCEL_BUDGET_MS = 60_000

export type PostDecision = { act: true } | { act: false; why: string }

/**
 * Whether the post step cancels the run: only when the main step was killed
 * while it still had the run to look after (or had asked for a cancel it
 * could not see through). Otherwise the main step's own decision stands, and
 * this says which.
 */
export function decide(saved: SavedRun): PostDecision {
  const run = `${PRODUCT[saved.orchestrator]} run ${saved.runId}`
  switch (saved.handling) {
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

const PRODUCT: Record<Inputs['orchestrator'], string> = { prefect: 'Prefect', kestra: 'Kestra' }

/**
 * The post step, run when the job was cancelled: the backstop for a main step
 * that was killed before it could cancel the run it had created. It works
 * from what the main step saved, never from a second read of the inputs, but
 * for the credentials. It only ever warns: a cleanup must not turn a
 * cancelled job into a failed one.
 */
export async function post(): Promise<void> {
  let saved: SavedRun | undefined
  try {
    saved = getSavedRun()
  } catch (error) {
    host.warning(`The post step leaves the run alone: ${errorMessage(error)}`)
    return
  }
  if (!saved) {
    host.info('No run was created: nothing to cancel.')
    return
  }
  const decision = decide(saved)
  if (!decision.act) {
    host.info(decision.why)
    return
  }
  const { runId } = saved
  try {
    const orchestrator = clientFor(saved, getCredentials(saved.orchestrator))
    const status = await orchestrator.read(runId)
    if (status.phase && isTerminal(status.phase)) {
      host.info(`${orchestrator.product} run ${runId} had ended ${status.state}: nothing to cancel.`)
      return
    }
    const run = { id: runId, name: runId, url: saved.runUrl, created: true, status }
    const result = await cancelAndConfirm(
      orchestrator,
      run,
      status,
      cancelReason('the GitHub job was cancelled'),
      POST_CANCEL_BUDGET_MS,
      (next) => host.info(`${orchestrator.product} run ${runId}: ${next.state} (${next.stateName})`)
    )
    if (result.confirmed) host.info(`Cancelled ${orchestrator.product} run ${runId}: it ended ${result.status.state}. ${run.url}`)
    else host.warning(`Asked ${orchestrator.product} to cancel run ${runId}, but it was still ${result.status.state}: ${run.url}`)
  } catch (error) {
    host.warning(`Could not cancel run ${runId}: ${errorMessage(error)}`)
  }
}

/**
 * A client that reads and cancels the saved run. The clients take the whole
 * inputs; read, cancel and what they build on use only the server, the
 * credentials and Kestra's tenant, so the rest is left empty.
 */
function clientFor(saved: SavedRun, credentials: Credentials): Orchestrator {
  const waiting: WaitSettings = {
    wait: true,
    timeoutSeconds: 0,
    pollIntervalSeconds: 1,
    failOn: new Set(),
    cancelOn: { timeout: false, jobCancel: true },
    logs: false,
    summary: false
  }
  const common = { url: saved.server, credentials, labels: {}, dryRun: false, waiting }
  switch (saved.orchestrator) {
    case 'prefect':
      return new PrefectClient(
        { orchestrator: 'prefect', ...common, deployment: { kind: 'id', id: '' }, tags: [], extraBody: {} },
        getOrigin(),
        USER_AGENT
      )
    case 'kestra':
      return new KestraClient(
        { orchestrator: 'kestra', ...common, tenant: saved.tenant, namespace: '', flow: '', files: [] },
        getOrigin(),
        USER_AGENT
      )
  }
}
