import { cancelLeftRun, decide } from './cancel.js'
import { errorMessage } from './errors.js'
import type { Host } from './host.js'
import { type Clock, realClock } from './clock.js'
import { moduleNamed } from './orchestrators.js'
import { getOrigin } from './origin.js'
import { getSavedRun, type SavedRun } from './state.js'
import { USER_AGENT } from './version.js'

/**
 * The post step, run when the job was cancelled: the backstop for a main step
 * that was killed before it could cancel the run it had created. It works
 * from what the main step saved, never from a second read of the inputs, but
 * for the credentials. It only ever warns: a cleanup must not turn a
 * cancelled job into a failed one.
 */
export async function post(host: Host, { clock = realClock }: { clock?: Clock } = {}): Promise<void> {
  let saved: SavedRun | undefined
  try {
    saved = getSavedRun(host)
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
  try {
    // getSavedRun checked that the module exists.
    const module = moduleNamed(saved.orchestrator)
    if (!module) throw new Error(`no orchestrator '${saved.orchestrator}'`)
    const context = { host, origin: await getOrigin(), userAgent: USER_AGENT, clock }
    const location = { server: saved.server, credentials: module.credentials(host), details: saved.details ?? {} }
    await cancelLeftRun({ host, clock }, context.origin, module.reconnect(location, context), saved)
  } catch (error) {
    host.warning(`Could not cancel run ${saved.runId}: ${errorMessage(error)}`)
  }
}
