import * as core from '@actions/core'
import { formatDuration } from './duration.js'
import type { Orchestrator, Phase, Run, RunStatus, TerminalPhase } from './orchestrator.js'
import { escapeHtml, printUntrusted } from './untrusted.js'

export type Outcome = 'success' | 'failed' | 'cancelled' | 'timed-out' | 'triggered' | 'error'

export function outcomeOf(phase: TerminalPhase): Outcome {
  switch (phase) {
    case 'succeeded':
      return 'success'
    case 'failed':
      return 'failed'
    case 'cancelled':
      return 'cancelled'
  }
}

/**
 * Everything the step tells its user: outputs (each set the moment it is
 * known, so a failing or killed step still has them), log lines, and the job
 * summary. Text from the orchestrator never reaches the log where it could be
 * read as a workflow command, nor the summary unescaped.
 */
export class Report {
  private orchestrator?: Orchestrator
  private run?: Run
  private status?: RunStatus
  private outcome?: Outcome
  private failure?: string
  private waitedSince?: number

  /** The last state seen, if any. */
  get lastStatus(): RunStatus | undefined {
    return this.status
  }

  begin(orchestrator: Orchestrator): void {
    this.orchestrator = orchestrator
  }

  created(run: Run): void {
    this.run = run
    core.setOutput('run-id', run.id)
    core.setOutput('run-url', run.url)
    core.setOutput('run-name', run.name)
    const { product } = this.orchestrator ?? { product: 'The orchestrator' }
    printUntrusted(
      run.created
        ? `Created ${product} run '${run.name}' (${run.id}): ${run.url}`
        : `${product} returned the run an identical earlier request created, '${run.name}' (${run.id}); following it instead of creating another: ${run.url}`
    )
    this.waitedSince = Date.now()
    this.changed(run.status)
  }

  changed(status: RunStatus): void {
    this.status = status
    core.setOutput('state', status.state)
    core.setOutput('state-name', status.stateName)
    if (status.outputs !== undefined) core.setOutput('outputs', JSON.stringify(status.outputs))
    const time = status.since ? new Date(status.since) : new Date()
    const clock = Number.isNaN(time.getTime()) ? status.since : time.toISOString().replace(/\.\d+Z$/, 'Z')
    printUntrusted(`${clock}  ${status.state} (${status.stateName})${status.message ? `: ${status.message}` : ''}${hint(status)}`)
  }

  finish(outcome: Outcome, failure?: string): void {
    this.outcome = outcome
    this.failure = failure
    core.setOutput('outcome', outcome)
    if (outcome !== 'triggered' && this.waitedSince !== undefined) {
      const seconds = this.status?.runSeconds ?? (Date.now() - this.waitedSince) / 1000
      core.setOutput('duration-seconds', String(Math.round(seconds)))
    }
  }

  /** For a failure with no outcome of its own yet: we could not trigger or read the run. */
  fail(message: string): void {
    if (this.outcome === undefined) this.finish('error', message)
    else this.failure ??= message
  }

  async writeSummary(): Promise<void> {
    if (!process.env.GITHUB_STEP_SUMMARY) return
    const product = this.orchestrator?.product ?? 'flow-dispatch'
    const outcome = this.outcome ?? 'error'
    const run = this.run
    const rows: [string, string][] = [
      ['Run', run ? `<a href="${escapeHtml(run.url)}">${escapeHtml(run.name)}</a> <code>${escapeHtml(run.id)}</code>` : 'not created'],
      ['Target', escapeHtml(this.orchestrator?.target ?? 'unknown')],
      ['State', this.status ? `${escapeHtml(this.status.state)} (${escapeHtml(this.status.stateName)})` : 'unknown'],
      ['Outcome', `<b>${outcome}</b>`]
    ]
    const seconds = this.status?.runSeconds ?? (this.waitedSince ? (Date.now() - this.waitedSince) / 1000 : undefined)
    if (seconds !== undefined && outcome !== 'triggered') rows.push(['Duration', formatDuration(seconds)])
    core.summary
      .addHeading(`${escapeHtml(product)} run: ${outcome}`, 3)
      .addTable([[{ data: 'Field', header: true }, { data: 'Value', header: true }], ...rows])
    if (this.failure) core.summary.addRaw(`<p>${escapeHtml(this.failure)}</p>`, true)
    await core.summary.write()
  }
}

function hint(status: RunStatus): string {
  if (status.stateName === 'Late') {
    return ' — no worker or serve process has picked it up yet; check that one is running for this deployment'
  }
  const phase: Phase | undefined = status.phase
  return phase === 'paused' ? ' — it waits to be resumed in the orchestrator' : ''
}
