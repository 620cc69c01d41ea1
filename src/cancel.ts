import { setTimeout as sleep } from 'node:timers/promises'
import { errorMessage } from './errors.js'
import { isTerminal, type Orchestrator, type Run, type RunStatus, sameState } from './orchestrator.js'
import { host } from './host.js'

export interface CancelResult {
  status: RunStatus
  /** The orchestrator reports the run ended (cancelled, or finished on its own first). */
  confirmed: boolean
}

/**
 * Asks the orchestrator to stop the run, then reads it until it has ended or
 * `budgetMs` has passed: a cancellation nobody confirmed is reported as such.
 */
export async function cancelAndConfirm(
  orchestrator: Orchestrator,
  run: Run,
  last: RunStatus,
  reason: string,
  budgetMs: number,
  onChange: (status: RunStatus) => void
): Promise<CancelResult> {
  const deadline = Date.now() + budgetMs
  let status = last
  const see = (next: RunStatus): void => {
    if (!sameState(next, status)) onChange(next)
    status = next
  }
  try {
    see(await orchestrator.cancel(run.id, reason, deadline))
    while (!(status.phase && isTerminal(status.phase)) && Date.now() + 500 < deadline) {
      await sleep(500)
      see(await orchestrator.read(run.id, deadline))
    }
  } catch (error) {
    host.info(`Could not cancel ${orchestrator.product} run ${run.id}: ${errorMessage(error)}`)
  }
  return { status, confirmed: status.phase !== undefined && isTerminal(status.phase) }
}
