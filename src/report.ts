import { formatDuration } from './duration.js'
import { isTerminal, type LogLine, type Orchestrator, type Phase, type Run, type RunStatus, type TerminalPhase } from './orchestrator.js'
import type { Host } from './host.js'
import { type Clock, realClock } from './clock.js'
import { escapeHtml, htmlLines } from './untrusted.js'
import type { RunResults } from './results.js'
import {
  artifactsOutput,
  artifactsSummary,
  resultsInShort,
  SUMMARY_LIMIT_BYTES,
  taskRunsOutput,
  taskRunsSummary
} from './results-report.js'

export type Outcome = 'success' | 'failed' | 'cancelled' | 'timed-out' | 'triggered' | 'dry-run' | 'error'

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

/** Log lines kept for the summary of a run that did not succeed. */
const LAST_LINES = 20
/** Parameter names whose values the summary never shows, at any depth of the parameters. */
const SECRET_NAME = /pass|secret|token|key|credential|auth|private|cert/i
/** What the summary shows for a masked secret, or the value of a secret-like name inside a parameter. */
const REDACTED = '***'
/** The longest text of one parameter's value, one log line, or one state's row, in the summary: none may crowd out the rest. */
const CELL_CHARS = 2000
/** State changes listed in the summary: a run retried all day has a great many. */
const STATE_ROWS = 100

export interface ReportDetails {
  parameters?: Record<string, unknown>
  summary: boolean
}

/**
 * Everything the step tells its user: outputs (each set the moment it is
 * known, so a failing or killed step still has them), log lines, and the job
 * summary. Text from the orchestrator never reaches the log where it could be
 * read as a workflow command, nor the summary unescaped.
 */
export class Report {
  private orchestrator?: Orchestrator
  private details: ReportDetails = { summary: true }
  private run?: Run
  private status?: RunStatus
  private outcome?: Outcome
  private failure?: string
  private waitedSince?: number
  /** We saw the run running or paused: it started, whether or not the orchestrator says when. */
  private ran = false
  private readonly timeline: Array<{ time: string; state: string }> = []
  private readonly lastLines: string[] = []
  private produced?: RunResults

  constructor(
    private readonly host: Host,
    private readonly clock: Clock = realClock
  ) {}

  /** How the step ended, for the CLI's exit code; `error` until it has ended otherwise. */
  result(jobCancelled: boolean): { outcome: Outcome; jobCancelled: boolean } {
    return { outcome: this.outcome ?? 'error', jobCancelled }
  }

  /** The last state seen, if any. */
  get lastStatus(): RunStatus | undefined {
    return this.status
  }

  begin(orchestrator: Orchestrator, details: ReportDetails): void {
    this.orchestrator = orchestrator
    this.details = details
  }

  created(run: Run): void {
    this.run = run
    this.host.setOutput('run-id', run.id)
    this.host.setOutput('run-url', run.url)
    this.host.setOutput('run-name', run.name)
    const { product } = this.orchestrator ?? { product: 'The orchestrator' }
    this.host.info(announcement(product, run))
    this.waitedSince = this.clock.now()
    this.changed(run.status)
  }

  changed(status: RunStatus): void {
    this.status = status
    if (status.phase === 'running' || status.phase === 'paused') this.ran = true
    this.host.setOutput('state', status.state)
    this.host.setOutput('state-name', status.stateName)
    if (status.outputs !== undefined) this.host.setOutput('outputs', JSON.stringify(status.outputs))
    const time = clock(status.since)
    this.timeline.push({ time, state: status.state === status.stateName ? status.state : `${status.state} (${status.stateName})` })
    this.host.info(`${time}  ${status.state} (${status.stateName})${status.message ? `: ${status.message}` : ''}${hint(status)}`)
  }

  /** What the run produced: outputs, a few lines in the log, and sections of the summary. */
  results(results: RunResults): void {
    this.produced = results
    const redact = (text: string) => this.redact(text)
    this.host.setOutput('artifacts', artifactsOutput(results, redact))
    this.host.setOutput('task-runs', taskRunsOutput(results, redact))
    for (const line of resultsInShort(results)) this.host.info(line)
  }

  heartbeat(status: RunStatus, waitedSeconds: number): void {
    this.host.info(`${clock()}  still ${status.state} (${status.stateName}) after ${formatDuration(waitedSeconds)}`)
  }

  /** The run's own log lines, with their time and level; one block, so one stop-commands guard covers it. */
  logs(lines: LogLine[]): void {
    const text = lines.map((line) => `${clock(line.time)} ${line.level.padEnd(8)} ${line.message.replace(/\r?\n/g, '\n    ')}`)
    this.lastLines.push(...text)
    this.lastLines.splice(0, Math.max(0, this.lastLines.length - LAST_LINES))
    this.host.info(text.join('\n'))
  }

  finish(outcome: Outcome, failure?: string): void {
    this.outcome = outcome
    this.failure = failure
    this.host.setOutput('outcome', outcome)
    if (outcome !== 'triggered' && outcome !== 'dry-run' && this.waitedSince !== undefined) {
      this.host.setOutput('duration-seconds', String(Math.round(this.duration()?.seconds ?? 0)))
    }
  }

  /** The one way the step fails: an error annotation, with a title when there is a run to name, and exit code 1. */
  failStep(message: string, title?: string): void {
    this.host.error(message, title)
    process.exitCode = 1
  }

  /** For a failure with no outcome of its own yet: we could not trigger or read the run. */
  fail(message: string): void {
    if (this.outcome === undefined) this.finish('error', message)
    else this.failure ??= message
  }

  /**
   * The run's own start-to-end time when the orchestrator knows it; 0 for a
   * run that never started (it ended, or we stopped waiting, before it ran);
   * for a run that started and has not ended, the seconds we waited.
   */
  private duration(): { seconds: number; started: boolean } | undefined {
    if (this.waitedSince === undefined) return undefined
    const status = this.status
    if (status?.runSeconds !== undefined) return { seconds: status.runSeconds, started: true }
    // An ended run with no start time never ran: Prefect sets the start when the run first enters RUNNING.
    if (status?.phase !== undefined && isTerminal(status.phase)) return { seconds: 0, started: false }
    return this.ran ? { seconds: (this.clock.now() - this.waitedSince) / 1000, started: true } : { seconds: 0, started: false }
  }

  async writeSummary(): Promise<void> {
    const summary = this.host.summary()
    if (!summary || !this.details.summary) return
    const product = this.orchestrator?.product ?? 'flow-dispatch'
    const outcome = this.outcome ?? 'error'
    const run = this.run
    // Every text that is not ours goes through `text`: redacted, then escaped onto one line.
    const text = (value: string): string => htmlLines(cut(this.redact(value)))
    const rows: [string, string][] = [
      ['Run', run ? `<a href="${escapeHtml(this.redact(run.url))}">${text(run.name)}</a> <code>${text(run.id)}</code>` : 'not created'],
      ['Target', text(this.orchestrator?.target ?? 'unknown')],
      ['State', this.status ? `${text(this.status.state)} (${text(this.status.stateName)})` : 'unknown'],
      ['Outcome', `<b>${outcome}</b>`]
    ]
    const duration = this.duration()
    if (duration !== undefined && outcome !== 'triggered')
      rows.push(['Duration', duration.started ? formatDuration(duration.seconds) : '0s (the run never started)'])
    summary.addHeading(`${escapeHtml(product)} run: ${outcome}`, 3).addTable([
      [
        { data: 'Field', header: true },
        { data: 'Value', header: true }
      ],
      ...rows
    ])
    if (this.failure) summary.addRaw(`<p>${text(this.failure)}</p>`, true)
    const parameters = Object.entries(this.details.parameters ?? {})
    if (parameters.length > 0) {
      // 'Sent' only once a run holds them: a dry run sends nothing, and a step that failed before the run existed may have sent nothing.
      const heading = run
        ? 'Parameters sent'
        : outcome === 'dry-run'
          ? 'Parameters checked (dry run: nothing was sent)'
          : 'Parameters given (no run was created)'
      summary.addHeading(heading, 4).addTable([
        [
          { data: 'Name', header: true },
          { data: 'Value', header: true }
        ],
        ...parameters.map(([name, value]): [string, string] => [
          text(name),
          SECRET_NAME.test(name) ? '<i>redacted</i>' : `<code>${text(this.shown(value))}</code>`
        ])
      ])
    }
    const redact = (value: string) => this.redact(value)
    const tasks = this.produced && taskRunsSummary(this.produced, redact)
    if (tasks) summary.addRaw(tasks, true)
    if (this.timeline.length > 0) {
      // The first states and the last: the end matters most, and a long wait's middle least.
      const rows =
        this.timeline.length > STATE_ROWS
          ? [...this.timeline.slice(0, 10), undefined, ...this.timeline.slice(-(STATE_ROWS - 10))]
          : this.timeline
      summary.addHeading('States', 4).addTable([
        [
          { data: 'Time', header: true },
          { data: 'State', header: true }
        ],
        ...rows.map((row): [string, string] =>
          row ? [text(row.time), text(row.state)] : ['…', `${this.timeline.length - STATE_ROWS} more state changes`]
        )
      ])
    }
    if (outcome !== 'success' && outcome !== 'triggered' && outcome !== 'dry-run' && this.lastLines.length > 0) {
      summary.addHeading('Last log lines', 4).addRaw(`<pre>${this.lastLines.map(text).join('<br>')}</pre>`, true)
    }
    const artifacts = this.produced && artifactsSummary(this.produced, redact, SUMMARY_LIMIT_BYTES - Buffer.byteLength(summary.stringify()))
    if (artifacts) summary.addRaw(artifacts, true)
    await summary.write()
  }

  private redact(value: string): string {
    let result = value
    for (const secret of this.host.secrets) if (secret.length > 0) result = result.replaceAll(secret, REDACTED)
    return result
  }

  /**
   * A parameter's value as JSON, with the value of every secret-like name in
   * it redacted, however deep, and masked secrets redacted in each string
   * before JSON escaping could change how they are spelt.
   */
  private shown(value: unknown): string {
    return JSON.stringify(value, (name: string, item: unknown) => {
      if (name !== '' && SECRET_NAME.test(name)) return REDACTED
      return typeof item === 'string' ? this.redact(item) : item
    })
  }
}

/** A text of the orchestrator's, cut to a length the summary can hold many of. */
function cut(text: string): string {
  return text.length > CELL_CHARS ? `${text.slice(0, CELL_CHARS)}… (${text.length - CELL_CHARS} more characters)` : text
}

/** The step's first words about its run: how it came to follow it. */
function announcement(product: string, run: Run): string {
  switch (run.made) {
    case 'created':
      return `Created ${product} run '${run.name}' (${run.id}): ${run.url}`
    case 'found':
      return `${product} returned the run an identical earlier request created, '${run.name}' (${run.id}); following it instead of creating another: ${run.url}`
    case 'attached':
      return `Following ${product} run '${run.name}' (${run.id}), which run-id names; this step did not create it: ${run.url}`
  }
}

/** `2026-11-22T18:00:05Z` from an ISO time (now when none); the text as it is when it is not a time. */
function clock(iso?: string): string {
  const time = iso ? new Date(iso) : new Date()
  return Number.isNaN(time.getTime()) ? String(iso) : time.toISOString().replace(/\.\d+Z$/, 'Z')
}

function hint(status: RunStatus): string {
  if (status.stateName === 'Late') {
    return ' — no worker or serve process has picked it up yet; check that one is running for this deployment'
  }
  const phase: Phase | undefined = status.phase
  return phase === 'paused' ? ' — it waits to be resumed in the orchestrator' : ''
}
