import { settleJobCancel, settleTimeout, type Watch, watchJobCancellation } from './cancel.js'
import { describeError, errorMessage, FlowDispatchError } from './errors.js'
import { type Host, inGroup } from './host.js'
import { getInputs } from './inputs.js'
import { Feed } from './feed.js'
import { Inbox } from './inbox.js'
import { LogPrinter } from './log-printer.js'
import { isTerminal, type Run, type RunStatus, type TerminalPhase } from './orchestrator.js'
import type { TaskRun } from './results.js'
import { type Inputs, moduleOf } from './orchestrators.js'
import { getOrigin } from './origin.js'
import { type Outcome, outcomeOf, Report } from './report.js'
import { MainState } from './state.js'
import { waitForRun, type WaitResult } from './wait.js'
import { type Clock, realClock } from './clock.js'
import { USER_AGENT } from './version.js'

export interface RunResult {
  outcome: Outcome
  /** What stopped the step, when something did before the run had an outcome of its own. */
  error?: unknown
  jobCancelled: boolean
}

/**
 * The engine, for the action and the CLI alike: read the inputs, check the
 * request, create the run, wait for it and settle how it ended, all told
 * through `host`. Every failure ends in one `failStep`.
 */
export async function run(host: Host, { clock = realClock }: { clock?: Clock } = {}): Promise<RunResult> {
  const report = new Report(host, clock)
  const state = new MainState(host)
  const cancellation = watchJobCancellation(host)
  let failure: unknown
  try {
    const inputs = getInputs(host)
    const origin = await getOrigin()
    const orchestrator = moduleOf(inputs).connect(inputs, { host, origin, userAgent: USER_AGENT, clock })
    report.begin(orchestrator, { parameters: inputs.parameters, summary: inputs.waiting.summary })
    // The timeout bounds the whole step: no request before the wait may outlive it either.
    const deadline = clock.now() + inputs.waiting.timeoutSeconds * 1000
    await orchestrator.prepare(deadline)
    if (inputs.dryRun) {
      host.info(`Dry run: nothing is created. The request that would be sent:\n${(await orchestrator.dryRun(deadline)).join('\n')}`)
      report.finish('dry-run')
    } else {
      if (cancellation.signal.aborted)
        throw new FlowDispatchError('cancelled', 'The job was cancelled before the run was created; nothing was created.')
      await start({ host, origin, clock, orchestrator, inputs, report, state }, deadline, cancellation.signal)
    }
  } catch (error) {
    failure = error
    // Stopped, not killed: the post step must not take this for a main step that never got to act.
    if (state.handling === 'watching') state.handling = 'left-on-error'
    const message = describeError(error, (input) => host.inputLabel(input))
    report.fail(message)
    report.failStep(message)
  } finally {
    cancellation.stop()
    await report.writeSummary()
  }
  return { ...report.result(cancellation.signal.aborted), error: failure }
}

interface Start extends Omit<Watch, 'run' | 'waiting'> {
  inputs: Inputs
}

/** Creates the run (or finds the one `run-id` names) and, unless told not to, waits for it and settles how it ended. */
async function start({ inputs, ...step }: Start, deadline: number, signal: AbortSignal): Promise<void> {
  // Before the create: a step killed the moment the run exists leaves the post step all it needs.
  step.state.saveTarget(inputs)
  const run =
    inputs.runId === undefined ? await step.orchestrator.trigger(deadline) : await step.orchestrator.attach(inputs.runId, deadline)
  step.state.saveRun(run)
  step.report.created(run)
  if (!inputs.waiting.wait) {
    step.report.finish('triggered')
    return
  }
  const watch: Watch = { ...step, run, waiting: inputs.waiting }
  const result = await follow(watch, deadline, startDeadline(inputs, run, step.clock.now()), signal)
  try {
    await settle(watch, result)
  } finally {
    // A cancelled job has seconds left, for the cancel: what the run made is shown when the wait ended otherwise.
    if (result.kind !== 'job-cancelled') await readResults(watch, result.kind === 'ended')
  }
}

/** Settles how the wait ended: outputs, the step's failure, a cancel per cancel-on. */
async function settle(watch: Watch, result: WaitResult): Promise<void> {
  const { orchestrator, run } = watch
  switch (result.kind) {
    case 'ended':
      return settleEnded(watch, result.status)
    case 'timed-out':
      return settleTimeout(watch, result.status, 'run')
    case 'not-started':
      return settleTimeout(watch, result.status, 'start')
    case 'job-cancelled':
      return settleJobCancel(watch, result.status)
    case 'unknown-state':
      throw new FlowDispatchError(
        'server',
        `${orchestrator.product} reported state '${result.status.state}' (${result.status.stateName}) for run ${run.id}, which this version of flow-dispatch does not know; not waiting on it. See ${run.url}`
      )
    default:
      // A new way for a wait to end must be settled here: this stops compiling until it is.
      return result satisfies never
  }
}

/** How long a read of what the run made may take: it only adds to the report, and the step's timeout may have passed. */
const RESULTS_MS = 15_000

/** Pause between reads of the task runs of a run that has ended while some of them have not, yet. */
const SETTLE_MS = 1_000

/**
 * What the run made, for the outputs and the summary; a failure to read it is
 * only a warning, whatever the outcome. Prefect records task runs from events
 * its engine sends after the fact: right after the flow run ended, a task run
 * may still show running, so an ended run's are read again a few times until
 * every one has ended too.
 */
async function readResults({ host, clock, orchestrator, run, report }: Watch, ended: boolean): Promise<void> {
  const deadline = clock.now() + RESULTS_MS
  try {
    let results = await orchestrator.results(run.id, deadline)
    for (let attempt = 1; ended && attempt <= 3 && results.taskRuns.some(stillGoing) && clock.now() + SETTLE_MS < deadline; attempt++) {
      await clock.sleep(SETTLE_MS)
      results = await orchestrator.results(run.id, deadline)
    }
    report.results(results)
  } catch (error) {
    host.warning(`Could not read what ${orchestrator.product} run ${run.id} produced (artifacts, task runs): ${errorMessage(error)}`)
  }
}

/** A task run that has not ended, as far as its state says. */
function stillGoing(task: TaskRun): boolean {
  return task.phase !== undefined && !isTerminal(task.phase)
}

/**
 * When the run must have started by: the start timeout, from its creation or
 * from its scheduled time when that is later. A run made before this step
 * (run-id) counts from when the orchestrator says it was due.
 */
function startDeadline(inputs: Inputs, run: Run, now: number): number | undefined {
  const { startTimeoutSeconds } = inputs.waiting
  if (startTimeoutSeconds === undefined) return undefined
  const due = run.made === 'attached' && run.due ? Date.parse(run.due) : now
  const from = Math.max(due, inputs.scheduledTime ? Date.parse(inputs.scheduledTime) : due)
  return from + startTimeoutSeconds * 1000
}

/** Waits for the run, listening to its streams, its log in a group of the step's log when it is followed. */
async function follow(
  { host, clock, orchestrator, run, waiting, report }: Watch,
  deadline: number,
  startBy: number | undefined,
  signal: AbortSignal
): Promise<WaitResult> {
  const inbox = new Inbox()
  const connection = orchestrator.stateStream?.(run)
  const feed =
    connection &&
    new Feed(connection, {
      host,
      fallback: `reading its state every ${waiting.pollIntervalSeconds}s`,
      deliver: (statuses) => inbox.push(statuses),
      onHealth: () => inbox.ring()
    })
  const printer = waiting.logs ? new LogPrinter(host, orchestrator, run, report, clock) : undefined
  printer?.listen(() => inbox.ring())
  try {
    return await inGroup(host, printer && `${orchestrator.product} run '${run.name}': states and log`, async () => {
      const result = await waitForRun(
        run.status,
        { deadline, startDeadline: startBy, pollIntervalMs: waiting.pollIntervalSeconds * 1000, signal, clock, inbox, stream: feed },
        {
          read: (until) => orchestrator.read(run.id, until),
          onChange: (next) => report.changed(next),
          onHeartbeat: (next, seconds) => report.heartbeat(next, seconds),
          onRetry: (message) => host.info(message),
          logs: printer
        }
      )
      if (printer && result.kind === 'ended') await printer.drain(deadline)
      return result
    })
  } finally {
    printer?.close()
    await feed?.close()
  }
}

/** The run ended by itself: the step fails when fail-on names its state, even a success-like one (Kestra's WARNING). */
function settleEnded({ orchestrator, run, waiting, report, state }: Watch, status: RunStatus & { phase: TerminalPhase }): void {
  state.handling = 'ended'
  const failing = waiting.failOn.has(status.state)
  const outcome = outcomeOf(status.phase)
  report.finish(failing && outcome === 'success' ? 'failed' : outcome)
  if (!failing) return
  const message = `${orchestrator.product} run ${run.id} ended ${status.state} (${status.stateName})${status.message ? `: ${status.message}` : ''} — ${run.url}`
  report.fail(message)
  report.failStep(message, `${orchestrator.product} run '${run.name}' ended ${status.state}`)
}
