import type { Api } from '../api.js'
import { errorMessage, FlowDispatchError } from '../errors.js'
import { isPlainObject, type JsonObject } from '../mapping.js'
import { parseJson } from '../remote.js'
import type { Artifact, RunResults, TaskRun } from '../results.js'
import { prefectPhase } from './states.js'

/** How many artifacts and task runs are read, at most, each; the rest are counted. Prefect's default page limit. */
export const RESULTS_LIMIT = 200

interface Page {
  items: unknown[]
  /** The page may not be all there is: it is as long as the limit, or the server chose the limit. */
  full: boolean
}

/**
 * What a flow run produced: its artifacts, made in the flow or in its tasks
 * (both carry the flow run's id), and its task runs. The answers are the
 * server's, so untrusted: an item that is not what Prefect documents becomes
 * `other`, or is skipped and said once through `warn`; it never throws.
 * Both are read at once, and no request outlives `deadline`. Throws a
 * `FlowDispatchError` when either read fails: the caller decides what a run
 * that ended without its results means.
 */
export async function readPrefectResults(
  api: Api,
  url: string,
  runId: string,
  deadline: number,
  warn: (text: string) => void
): Promise<RunResults> {
  const reader = new Reader(api, url, runId, deadline)
  const [artifacts, taskRuns] = await Promise.allSettled([reader.artifacts(), reader.taskRuns()])
  const failures = [artifacts, taskRuns].flatMap((read) => (read.status === 'rejected' ? [read.reason] : []))
  if (artifacts.status === 'rejected' || taskRuns.status === 'rejected') throw combined(runId, failures)
  const skipped = [...artifacts.value.skipped, ...taskRuns.value.skipped]
  if (skipped.length > 0)
    warn(`Left out ${skipped.length} item(s) of what flow run ${runId} produced, which Prefect described oddly: ${skipped[0]}`)
  return {
    artifacts: artifacts.value.list,
    taskRuns: taskRuns.value.list,
    omitted: { artifacts: artifacts.value.omitted, taskRuns: taskRuns.value.omitted }
  }
}

function combined(runId: string, failures: unknown[]): FlowDispatchError {
  const [first] = failures
  if (failures.length === 1 && first instanceof FlowDispatchError) return first
  // Not a FlowDispatchError is a fault of ours, yet still no reason to fail a step whose run is over.
  const kind = first instanceof FlowDispatchError ? first.kind : 'server'
  return new FlowDispatchError(kind, `Could not read what flow run ${runId} produced: ${failures.map(errorMessage).join('; ')}`)
}

class Reader {
  constructor(
    private readonly api: Api,
    private readonly url: string,
    private readonly runId: string,
    private readonly deadline: number
  ) {}

  /**
   * `/artifacts/filter` by the run's id, newest first, so a long list keeps
   * the newest. Not `/artifacts/latest/filter`: Prefect keeps one latest
   * artifact per key across all runs, so a later run that wrote the same key
   * would hide this run's.
   */
  async artifacts(): Promise<{ list: Artifact[]; omitted: number; skipped: string[] }> {
    const what = `read the artifacts of flow run ${this.runId}`
    const filter = { artifacts: { flow_run_id: { any_: [this.runId] } } }
    const page = await this.page(what, '/artifacts/filter', { ...filter, sort: 'CREATED_DESC' })
    const skipped: string[] = []
    const newestByKey = new Map<string, Artifact>()
    const unkeyed: Artifact[] = []
    /** Versions read of each key, the older ones dropped included: counted against the total below. */
    const versions = new Map<string, number>()
    for (const [index, item] of page.items.entries()) {
      if (!isPlainObject(item)) {
        skipped.push(`artifact ${index + 1} of the answer is not an object`)
        continue
      }
      const artifact = toArtifact(item)
      if (artifact.key === undefined) unkeyed.push(artifact)
      else {
        versions.set(artifact.key, (versions.get(artifact.key) ?? 0) + 1)
        if (!newestByKey.has(artifact.key)) newestByKey.set(artifact.key, artifact)
      }
    }
    const list = [...[...newestByKey.values()].reverse(), ...unkeyed.reverse()]
    if (!page.full) return { list, omitted: 0, skipped }
    // What was not read, less the older versions of keys that were: those are left out anyway.
    const keys = [...versions.keys()]
    const [total, ofKeys] = await Promise.all([
      this.count(`count the artifacts of flow run ${this.runId}`, '/artifacts/count', filter),
      keys.length === 0
        ? 0
        : this.count(`count the versions of the artifacts of flow run ${this.runId}`, '/artifacts/count', {
            artifacts: { ...filter.artifacts, key: { any_: keys } }
          })
    ])
    const readOfKeys = [...versions.values()].reduce((sum, n) => sum + n, 0)
    const omitted = total - page.items.length - Math.max(0, ofKeys - readOfKeys)
    return { list, omitted: Math.max(0, omitted), skipped }
  }

  async taskRuns(): Promise<{ list: TaskRun[]; omitted: number; skipped: string[] }> {
    const what = `read the task runs of flow run ${this.runId}`
    const filter = { flow_runs: { id: { any_: [this.runId] } } }
    const page = await this.page(what, '/task_runs/filter', { ...filter, sort: 'EXPECTED_START_TIME_ASC' })
    const skipped: string[] = []
    const list: TaskRun[] = []
    for (const [index, item] of page.items.entries()) {
      const taskRun = isPlainObject(item) ? toTaskRun(item) : undefined
      if (taskRun) list.push(taskRun)
      else skipped.push(`task run ${index + 1} of the answer is not an object with an id`)
    }
    if (!page.full) return { list, omitted: 0, skipped }
    const total = await this.count(`count the task runs of flow run ${this.runId}`, '/task_runs/count', filter)
    return { list, omitted: Math.max(0, total - page.items.length), skipped }
  }

  private async page(what: string, path: string, body: JsonObject): Promise<Page> {
    let response = await this.post(what, path, { ...body, limit: RESULTS_LIMIT })
    let limit: number | undefined = RESULTS_LIMIT
    // A server whose page limit is lower than ours says so with a 422: ask again without one, as Prefect's CLI does.
    if (response.status === 422) {
      limit = undefined
      response = await this.post(what, path, body)
    }
    const items = parseJson<unknown>(this.api.ok(response, what), what)
    if (!Array.isArray(items)) throw new FlowDispatchError('server', `Could not ${what}: the answer was not a list`)
    return { items, full: limit === undefined ? items.length > 0 : items.length >= limit }
  }

  private async count(what: string, path: string, body: JsonObject): Promise<number> {
    const count = parseJson<unknown>(this.api.ok(await this.post(what, path, body), what), what)
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0)
      throw new FlowDispatchError('server', `Could not ${what}: the answer was not a count`)
    return count
  }

  private post(what: string, path: string, json: JsonObject) {
    return this.api.send(what, { method: 'POST', url: `${this.url}${path}`, json, idempotent: true, deadline: this.deadline })
  }
}

/** Prefect's artifact (`prefect/artifacts.py` formats each type's data) as the step shows it. */
function toArtifact(item: JsonObject): Artifact {
  const created = time(item.created)
  const common = {
    ...(typeof item.key === 'string' && item.key !== '' && { key: item.key }),
    ...(typeof item.description === 'string' && item.description !== '' && { description: item.description }),
    ...(created && { created })
  }
  const kind = typeof item.type === 'string' && item.type !== '' ? item.type : '(none)'
  const { data } = item
  return { ...common, ...(typedData(kind, data) ?? { type: 'other', kind, data }) }
}

type ArtifactData = Artifact extends infer A ? (A extends unknown ? Omit<A, 'key' | 'description' | 'created'> : never) : never

/** The data as its type says, or undefined when it is not what that type makes. */
function typedData(kind: string, data: unknown): ArtifactData | undefined {
  switch (kind) {
    // A link artifact is a markdown artifact too (`LinkArtifact.type`): one link, and nothing else, is shown as a link.
    case 'markdown':
      if (typeof data !== 'string') return undefined
      return parseLink(data) ?? { type: 'markdown', markdown: data }
    case 'link':
      return typeof data === 'string'
        ? (parseLink(data) ?? (isWebUrl(data.trim()) ? { type: 'link', url: data.trim() } : undefined))
        : undefined
    case 'table':
      return parseTable(data)
    case 'progress':
      // Prefect's client keeps it within 0 to 100; another client may not.
      return typeof data === 'number' && Number.isFinite(data) ? { type: 'progress', percent: Math.min(100, Math.max(0, data)) } : undefined
    case 'image':
      return typeof data === 'string' && isWebUrl(data.trim()) ? { type: 'image', url: data.trim() } : undefined
    default:
      return undefined
  }
}

/**
 * `[text](url)`, as `LinkArtifact` writes it, alone: not a text with links
 * in it. Only a web address makes a link; the text is left out when it is
 * the address, which Prefect writes when it was given none.
 */
function parseLink(data: string): ArtifactData | undefined {
  const match = /^\[((?:[^\]\r\n]|\](?!\())*)\]\((\S+)\)$/.exec(data.trim())
  if (!match) return undefined
  const [, text, url] = match
  if (!isWebUrl(url)) return undefined
  return { type: 'link', url, ...(text !== '' && text !== url && { text }) }
}

function isWebUrl(text: string): boolean {
  if (!URL.canParse(text)) return false
  const { protocol } = new URL(text)
  return protocol === 'https:' || protocol === 'http:'
}

/**
 * `TableArtifact` sends its table as a JSON string: a list of rows as
 * mappings, a mapping of columns to their values, or a list of rows as lists.
 * Missing cells are null; anything else is not a table.
 */
function parseTable(data: unknown): ArtifactData | undefined {
  const table = typeof data === 'string' ? parseJsonText(data) : data
  if (Array.isArray(table)) {
    if (table.every(isPlainObject)) {
      const columns = [...new Set(table.flatMap((row) => Object.keys(row)))]
      return {
        type: 'table',
        columns,
        rows: table.map((row) => columns.map((column) => (Object.hasOwn(row, column) ? row[column] : null)))
      }
    }
    if (table.every(Array.isArray)) {
      const width = longest(table)
      // Unnamed columns are named by position from 0, as pandas names them.
      const columns = Array.from({ length: width }, (_, i) => String(i))
      return { type: 'table', columns, rows: table.map((row) => columns.map((_, i) => (i < row.length ? row[i] : null))) }
    }
    return undefined
  }
  if (isPlainObject(table)) {
    const columns = Object.keys(table)
    const values = columns.map((column) => table[column])
    if (!values.every(Array.isArray)) return undefined
    const height = longest(values)
    return {
      type: 'table',
      columns,
      rows: Array.from({ length: height }, (_, i) => values.map((column) => (i < column.length ? column[i] : null)))
    }
  }
  return undefined
}

/** Not `Math.max(...lists)`: a list of a few hundred thousand would overflow the call's arguments. */
function longest(lists: unknown[][]): number {
  return lists.reduce((max, list) => Math.max(max, list.length), 0)
}

/** Undefined for text that is not JSON: no JSON value is undefined. */
function parseJsonText(data: string): unknown {
  try {
    return JSON.parse(data)
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error
    return undefined
  }
}

/** Prefect's task run as the step shows it; undefined without an id, the one thing a task run cannot be shown without. */
function toTaskRun(item: JsonObject): TaskRun | undefined {
  if (typeof item.id !== 'string' || item.id === '') return undefined
  const state = isPlainObject(item.state) ? item.state : {}
  const type = text(item.state_type) ?? text(state.type) ?? 'UNKNOWN'
  const start = time(item.start_time)
  const end = time(item.end_time)
  const seconds = item.total_run_time
  return {
    id: item.id,
    name: text(item.name) ?? item.id,
    state: type,
    stateName: text(item.state_name) ?? text(state.name) ?? type,
    phase: prefectPhase(type),
    ...(start && { start }),
    ...(end && { end }),
    // Prefect counts 0 for a task run that never ran: no time is known then.
    ...(start && typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 && { seconds })
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

function time(value: unknown): string | undefined {
  return typeof value === 'string' && Number.isFinite(Date.parse(value)) ? value : undefined
}
