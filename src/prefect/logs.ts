import type { Api } from '../api.js'
import { FlowDispatchError } from '../errors.js'
import type { LogFollower, LogLine } from '../orchestrator.js'
import { parseJson } from '../remote.js'

/** Prefect ships logs in batches, so one can arrive with a time a little before the newest seen. */
const LATE_WINDOW_MS = 10_000
const PAGE = 200
/** Pages read in one call while the run goes, so a flood of lines cannot hold up the wait loop for long. */
const MAX_PAGES = 50

interface PrefectLog {
  id: string
  level: number
  message: string
  timestamp: string
}

function levelName(level: number): string {
  switch (level) {
    case 10:
      return 'DEBUG'
    case 20:
      return 'INFO'
    case 30:
      return 'WARNING'
    case 40:
      return 'ERROR'
    case 50:
      return 'CRITICAL'
    default:
      return `LEVEL${level}`
  }
}

/**
 * Reads a flow run's logs with `POST /logs/filter`, oldest first, from the
 * newest line seen (the bound is inclusive, so the ids at it are dropped), and
 * on the final call from a little before it, for lines shipped late. Only the
 * ids inside that window are remembered, so memory stays bounded however long
 * the log grows; nothing is printed twice or skipped across pages.
 */
export class PrefectLogFollower implements LogFollower {
  private readonly seen = new Map<string, number>()
  private newest = 0
  /** The limit we send; none once the server refused ours. */
  private limit: number | undefined = PAGE
  /** A page this long may have more after it. */
  private fullPage: number | undefined = PAGE

  constructor(
    private readonly api: Api,
    private readonly url: string,
    private readonly runId: string
  ) {}

  async next(print: (lines: LogLine[]) => void, deadline?: number, final = false): Promise<boolean> {
    const after = this.newest > 0 ? new Date(this.newest - (final ? LATE_WINDOW_MS : 0)).toISOString() : undefined
    const what = `read the logs of flow run ${this.runId}`
    let more = true
    // The final call reads to the end: its window starts behind the newest line, so it could not resume.
    for (let page = 0, offset = 0; final || page < MAX_PAGES; page++) {
      const body = {
        logs: { flow_run_id: { any_: [this.runId] }, ...(after && { timestamp: { after_: after } }) },
        sort: 'TIMESTAMP_ASC',
        offset,
        ...(this.limit !== undefined && { limit: this.limit })
      }
      const response = await this.api.send(what, { method: 'POST', url: `${this.url}/logs/filter`, json: body, idempotent: true, deadline })
      // A server whose page limit is lower than ours says so with a 422: ask again without one, as Prefect's CLI does.
      if (response.status === 422 && this.limit !== undefined) {
        this.limit = undefined
        this.fullPage = undefined
        page--
        continue
      }
      const logs = parseJson<PrefectLog[]>(this.api.ok(response, what), what)
      if (!Array.isArray(logs)) throw new FlowDispatchError('server', `Could not ${what}: the answer was not a list`)
      const fresh: LogLine[] = []
      for (const log of logs) {
        if (this.seen.has(log.id)) continue
        const time = Date.parse(log.timestamp)
        this.seen.set(log.id, time)
        if (time > this.newest) this.newest = time
        fresh.push({ time: log.timestamp, level: levelName(log.level), message: log.message })
      }
      if (fresh.length > 0) print(fresh)
      // Without a limit, the first page's length is the server's own page size, or less.
      this.fullPage ??= logs.length
      if (logs.length === 0 || logs.length < this.fullPage) {
        more = false
        break
      }
      offset += logs.length
    }
    for (const [id, time] of this.seen) if (time < this.newest - LATE_WINDOW_MS) this.seen.delete(id)
    return more
  }

  close(): void {
    // Each read is a request of its own: nothing stays open.
  }
}
