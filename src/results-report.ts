import { formatDuration } from './duration.js'
import type { Artifact, RunResults, TaskRun } from './results.js'
import { escapeHtml, htmlLines } from './untrusted.js'

/**
 * What a run produced, as the step shows it: the `artifacts` and `task-runs`
 * outputs, a few lines for the log, and the summary's sections. Everything in
 * them is the orchestrator's text, and `redact` is given every string before
 * it is shown.
 */

/** GitHub refuses a step summary over 1 MiB; what we write ourselves besides the results stays far below this. */
export const SUMMARY_LIMIT_BYTES = 1024 * 1024
/** Rows of the task-run table, and bars of the timeline. */
const TASK_ROWS = 50
/** Rows and columns of one table artifact in the summary. */
const TABLE_ROWS = 50
const TABLE_COLUMNS = 20
/** One output value: the runner takes up to 1 MiB each, and later steps read them from one JSON file. */
const OUTPUT_LIMIT_BYTES = 900 * 1024
/** A markdown artifact's text kept in the `artifacts` output when the whole would be too long. */
const OUTPUT_MARKDOWN_CHARS = 16 * 1024
const OUTPUT_TABLE_ROWS = 200

type Redact = (text: string) => string

/** `artifacts`: each keyed artifact's newest version by its key; redacted, and cut to fit an output. */
export function artifactsOutput(results: RunResults, redact: Redact): string {
  const keyed = results.artifacts.filter((artifact) => artifact.key !== undefined)
  const entries = (shorten: boolean) =>
    Object.fromEntries(
      keyed.map((artifact) => {
        const { key, created: _created, ...value } = shorten ? shortened(artifact) : artifact
        return [redact(key as string), value] as const
      })
    )
  const whole = redactedJson(entries(false), redact)
  if (Buffer.byteLength(whole) <= OUTPUT_LIMIT_BYTES) return whole
  const cut = redactedJson(entries(true), redact)
  if (Buffer.byteLength(cut) <= OUTPUT_LIMIT_BYTES) return cut
  // Still too long (a great many keys): each is named, with its type, and no more.
  return redactedJson(
    Object.fromEntries(keyed.map((artifact) => [redact(artifact.key as string), { type: artifact.type, cut: true }])),
    redact
  )
}

function shortened(artifact: Artifact): Artifact & { cut?: true } {
  switch (artifact.type) {
    case 'markdown':
      return artifact.markdown.length > OUTPUT_MARKDOWN_CHARS
        ? { ...artifact, markdown: artifact.markdown.slice(0, OUTPUT_MARKDOWN_CHARS), cut: true }
        : artifact
    case 'table':
      return artifact.rows.length > OUTPUT_TABLE_ROWS
        ? { ...artifact, rows: artifact.rows.slice(0, OUTPUT_TABLE_ROWS), cut: true }
        : artifact
    case 'other':
      return { ...artifact, data: null, cut: true }
    case 'link':
    case 'progress':
    case 'image':
      return artifact
  }
}

/** `task-runs`: the task runs read, in the order they started. */
export function taskRunsOutput(results: RunResults, redact: Redact): string {
  return redactedJson(
    results.taskRuns.map((task) => ({
      name: task.name,
      state: task.state,
      'state-name': task.stateName,
      start: task.start ?? null,
      end: task.end ?? null,
      seconds: task.seconds ?? null
    })),
    redact
  )
}

function redactedJson(value: unknown, redact: Redact): string {
  return JSON.stringify(value, (_, item: unknown) => (typeof item === 'string' ? redact(item) : item))
}

/** A few lines for the log, and the CLI's plain output: the task runs by state, and each artifact in short. */
export function resultsInShort(results: RunResults): string[] {
  const lines: string[] = []
  const { taskRuns, artifacts, omitted } = results
  if (taskRuns.length > 0) {
    const byState = new Map<string, number>()
    for (const task of taskRuns) byState.set(task.state, (byState.get(task.state) ?? 0) + 1)
    const counts = [...byState].map(([state, count]) => `${count} ${state}`).join(', ')
    const failed = taskRuns.filter(isFailed)
    const named =
      failed.length > 0
        ? `; not successful: ${failed
            .slice(0, 5)
            .map((task) => task.name)
            .join(', ')}${failed.length > 5 ? ', …' : ''}`
        : ''
    lines.push(
      `Task runs: ${taskRuns.length + omitted.taskRuns} (${counts}${omitted.taskRuns ? `, ${omitted.taskRuns} more not read` : ''})${named}`
    )
  }
  if (artifacts.length > 0) {
    const shown = artifacts.slice(0, 10).map((artifact) => `${artifact.key ?? '(no key)'} (${inShort(artifact)})`)
    const more = artifacts.length - shown.length + omitted.artifacts
    lines.push(`Artifacts: ${shown.join(', ')}${more > 0 ? `, and ${more} more` : ''}`)
  }
  return lines
}

function inShort(artifact: Artifact): string {
  switch (artifact.type) {
    case 'markdown':
      return 'markdown'
    case 'table':
      return `table, ${artifact.rows.length} row${artifact.rows.length === 1 ? '' : 's'}`
    case 'link':
      return `link ${artifact.url}`
    case 'progress':
      return `progress ${percent(artifact.percent)}`
    case 'image':
      return `image ${artifact.url}`
    case 'other':
      return artifact.kind
  }
}

/** Not a success: failed, crashed, cancelled, or a state this version does not know. */
function isFailed(task: TaskRun): boolean {
  return task.phase === 'failed' || task.phase === 'cancelled' || task.phase === undefined
}

/** The failed ones first, each group in the order they started. */
function failedFirst(tasks: readonly TaskRun[]): TaskRun[] {
  return [...tasks.filter(isFailed), ...tasks.filter((task) => !isFailed(task))]
}

/** The summary's section of the task runs: a table, failed ones first, and their timeline. */
export function taskRunsSummary(results: RunResults, redact: Redact): string {
  if (results.taskRuns.length === 0) return ''
  const chart = timeline(results.taskRuns, redact)
  return [taskTable(results, (value) => htmlLines(redact(value))), chart ?? ''].join('\n')
}

/**
 * The summary's section of the artifacts, within `budget` bytes, in order
 * while they fit; those that do not are counted. Last in the summary: the
 * flow author's Markdown is rendered as such, and nothing of ours comes after
 * it for it to disturb.
 */
export function artifactsSummary(results: RunResults, redact: Redact, budget: number): string {
  if (results.artifacts.length === 0 && results.omitted.artifacts === 0) return ''
  const text = (value: string): string => htmlLines(redact(value))
  const parts = ['<h4>Artifacts</h4>']
  let left = budget - 2048
  const notShown: string[] = []
  for (const artifact of results.artifacts) {
    const section = artifactSection(artifact, redact, text, left)
    if (section === undefined) notShown.push(artifact.key ?? '(no key)')
    else {
      parts.push(section)
      left -= Buffer.byteLength(section) + 1
    }
  }
  const unread = results.omitted.artifacts
  const reasons = [
    notShown.length > 0 &&
      `${notShown.length} not shown, for GitHub's size limit of a step summary (${text(notShown.slice(0, 20).join(', '))})`,
    unread > 0 && `${unread} more than were read`
  ].filter(Boolean)
  if (reasons.length > 0) parts.push(`<p><i>${reasons.join('; ')}: see the run's own page.</i></p>`)
  return parts.join('\n')
}

function taskTable(results: RunResults, text: (value: string) => string): string {
  const rows = failedFirst(results.taskRuns)
  const shown = rows.slice(0, TASK_ROWS)
  const more = rows.length - shown.length + results.omitted.taskRuns
  const cells = shown.map(
    (task) =>
      `<tr><td>${text(task.name)}</td><td>${isFailed(task) ? '<b>' : ''}${text(task.state === task.stateName ? task.state : `${task.state} (${task.stateName})`)}${isFailed(task) ? '</b>' : ''}</td><td>${task.seconds === undefined ? '' : escapeHtml(seconds(task.seconds))}</td></tr>`
  )
  return [
    `<h4>Task runs (${results.taskRuns.length + results.omitted.taskRuns})</h4>`,
    `<table><tr><th>Task run</th><th>State</th><th>Duration</th></tr>${cells.join('')}</table>`,
    more > 0 ? `<p><i>and ${more} more task run${more === 1 ? '' : 's'}</i></p>` : ''
  ].join('\n')
}

/** `<0.1s`, `0.4s`, `12s`, `1m 5s`: a task is often shorter than a second. */
function seconds(value: number): string {
  if (value < 0.05) return '<0.1s'
  return value < 10 ? `${(Math.round(value * 10) / 10).toFixed(1)}s` : formatDuration(value)
}

function percent(value: number): string {
  return `${Math.round(value * 10) / 10}%`
}

/** Words that begin a statement of a Mermaid gantt: a task named so would be read as one. */
const GANTT_KEYWORDS =
  /^(title|section|dateformat|axisformat|tickinterval|excludes|includes|todaymarker|weekday|weekend|click|acctitle|accdescr|inclusiveenddates|topaxis|displaymode)\b/i

/**
 * A Mermaid gantt of the task runs that started, when there are two or more:
 * GitHub draws it in the summary. A task's name is cut down to characters
 * Mermaid reads as text, and its times are milliseconds (`dateFormat x`).
 */
function timeline(tasks: readonly TaskRun[], redact: Redact): string | undefined {
  const bars = tasks
    .filter((task) => task.start !== undefined && !Number.isNaN(Date.parse(task.start)))
    .slice(0, TASK_ROWS)
    .map((task) => {
      const start = Date.parse(task.start as string)
      const ended = task.end === undefined ? Number.NaN : Date.parse(task.end)
      // Mermaid draws nothing for a bar of no length.
      const end = Math.max(start + 1, Number.isNaN(ended) ? start + (task.seconds ?? 0) * 1000 : ended)
      const tag = isFailed(task) ? 'crit, ' : task.phase === 'succeeded' ? 'done, ' : task.end === undefined ? 'active, ' : ''
      return `    ${ganttName(redact(task.name))} :${tag}${start}, ${end}`
    })
  if (bars.length < 2) return undefined
  return ['<h4>Timeline</h4>', '', '```mermaid', 'gantt', '    dateFormat x', '    axisFormat %H:%M:%S', ...bars, '```', ''].join('\n')
}

function ganttName(name: string): string {
  const plain = name
    .replace(/[^\p{L}\p{N} ._()[\]/-]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 60)
  if (plain === '') return 'task'
  return GANTT_KEYWORDS.test(plain) ? `task ${plain}` : plain
}

/** One artifact's section; undefined when it does not fit in `budget` bytes even cut. */
function artifactSection(artifact: Artifact, redact: Redact, text: (value: string) => string, budget: number): string | undefined {
  const title = `<h5>${artifact.key === undefined ? `${artifact.type} artifact` : `<code>${text(artifact.key)}</code>`}</h5>${
    artifact.description ? `\n<p>${text(artifact.description)}</p>` : ''
  }`
  const body = artifactBody(artifact, redact, text, budget - Buffer.byteLength(title))
  return body === undefined ? undefined : `${title}\n${body}`
}

function artifactBody(artifact: Artifact, redact: Redact, text: (value: string) => string, budget: number): string | undefined {
  if (budget <= 0) return undefined
  switch (artifact.type) {
    case 'markdown':
      return markdownBlock(redact(artifact.markdown), budget)
    case 'table': {
      const columns = artifact.columns.slice(0, TABLE_COLUMNS)
      const rows = artifact.rows.slice(0, TABLE_ROWS)
      const cell = (value: unknown) =>
        `<td>${text(value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value))}</td>`
      const html = `<table><tr>${columns.map((name) => `<th>${text(name)}</th>`).join('')}</tr>${rows
        .map((row) => `<tr>${columns.map((_, i) => cell(row[i])).join('')}</tr>`)
        .join('')}</table>`
      const cut = [
        artifact.rows.length > rows.length && `${artifact.rows.length - rows.length} more rows`,
        artifact.columns.length > columns.length && `${artifact.columns.length - columns.length} more columns`
      ].filter(Boolean)
      const shown = cut.length > 0 ? `${html}\n<p><i>and ${cut.join(', ')}</i></p>` : html
      return Buffer.byteLength(shown) <= budget ? shown : undefined
    }
    case 'link':
      return `<p>${anchor(redact(artifact.url), artifact.text ? redact(artifact.text) : undefined)}</p>`
    case 'progress': {
      const value = Math.min(100, Math.max(0, artifact.percent))
      const filled = Math.round(value / 5)
      return `<p><code>${'█'.repeat(filled)}${'░'.repeat(20 - filled)}</code> ${percent(artifact.percent)}</p>`
    }
    case 'image':
      return isWebUrl(artifact.url)
        ? `<p><img src="${escapeHtml(redact(artifact.url))}" alt="${escapeHtml(redact(artifact.description ?? artifact.key ?? 'image'))}"></p>`
        : `<p>${text(artifact.url)}</p>`
    case 'other':
      return `<p><i>A '${text(artifact.kind)}' artifact: flow-dispatch does not show this type here; see the run's own page.</i></p>`
  }
}

function isWebUrl(url: string): boolean {
  return URL.canParse(url) && ['http:', 'https:'].includes(new URL(url).protocol)
}

/** A link only to the web: a `javascript:` or `data:` URL is shown as text. */
function anchor(url: string, label: string | undefined): string {
  const shown = htmlLines(label ?? url)
  return isWebUrl(url) ? `<a href="${escapeHtml(url)}">${shown}</a>` : `${shown} (${htmlLines(url)})`
}

/**
 * The flow author's Markdown, as Markdown: GitHub renders and sanitises it.
 * What it leaves open cannot take over what follows: an open code fence is
 * closed, and the comment after it ends any HTML comment it opened.
 */
function markdownBlock(markdown: string, budget: number): string | undefined {
  const closing = '\n\n<!-- end of the artifact -->\n'
  let body = markdown
  let note = ''
  if (Buffer.byteLength(body) + closing.length + 200 > budget) {
    const room = budget - closing.length - 200
    if (room < 1024) return undefined
    // Cut at a line, by bytes: a character may take four.
    body = Buffer.from(body)
      .subarray(0, room)
      .toString()
      .replace(/\uFFFD?$/, '')
    body = body.slice(0, Math.max(0, body.lastIndexOf('\n')))
    note = `\n\n<p><i>Cut at ${Math.round(room / 1024)} KiB, for GitHub's size limit of a step summary: see the run's own page.</i></p>`
  }
  const fence = openFence(body)
  return `\n${body}${fence === undefined ? '' : `\n${fence}`}${closing}${note}\n`
}

/** The fence a code block still open at the end of `markdown` needs to close, as CommonMark reads fences. */
function openFence(markdown: string): string | undefined {
  let open: { mark: string; length: number } | undefined
  for (const line of markdown.split(/\r\n|\r|\n/)) {
    const match = /^ {0,3}(`{3,}|~{3,})(.*)$/.exec(line)
    if (!match) continue
    const [, run, rest] = match
    if (open === undefined) {
      // A backtick fence's info string may not hold a backtick.
      if (!(run[0] === '`' && rest.includes('`'))) open = { mark: run[0], length: run.length }
    } else if (run[0] === open.mark && run.length >= open.length && rest.trim() === '') open = undefined
  }
  return open?.mark.repeat(open.length)
}
