import type { Api } from '../api.js'
import { type Clock, realClock } from '../clock.js'
import { FlowDispatchError } from '../errors.js'
import { Feed } from '../feed.js'
import type { Host } from '../host.js'
import type { LogFollower, LogLine } from '../orchestrator.js'
import { parseJson } from '../remote.js'
import { prefectSocket, type SocketTarget } from './events.js'

/** Prefect ships logs in batches, so one can arrive with a time a little before the newest seen. */
const LATE_WINDOW_MS = 10_000
const PAGE = 200
/** Pages read in one call while the run goes, so a flood of lines cannot hold up the wait loop for long. */
const MAX_PAGES = 50
/** Pushed lines held between two flushes; past it the stream is left for reads, which find what it would have said. */
const MAX_PUSHED = 10_000
/** What the engine logs last in a flow run's process (`Finished in state Completed()`), in Prefect 2 and 3. */
const CLOSING_LINE = 'Finished in state '
/** How long after the end the closing line is waited for, at most. */
const FINAL_WAIT_MS = 3_000
const PUSH_CHECK_MS = 50
const READ_CHECK_MS = 250

interface PrefectLog {
  id: string
  level: number
  message: string
  timestamp: string
  flow_run_id?: string
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
 *
 * Where the server streams logs (`/logs/out`, on Prefect Cloud; on a
 * self-hosted server when PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED is set), the
 * lines are pushed as they are shipped. A server with the setting off accepts
 * the socket and sends nothing, so the stream is trusted only once it has
 * delivered a line; until then the log is read as without one, and the same
 * ids keep each line to one print.
 */
export class PrefectLogFollower implements LogFollower {
  private readonly seen = new Map<string, number>()
  private newest = 0
  /** The limit we send; none once the server refused ours. */
  private limit: number | undefined = PAGE
  /** A page this long may have more after it. */
  private fullPage: number | undefined = PAGE
  private feed: Feed<PrefectLog> | undefined
  private pushed: PrefectLog[] = []
  /** The stream has delivered a line: it carries the log. */
  private proven = false
  /** The engine's closing line is in: nothing more comes from the run's process. */
  private closed = false

  constructor(
    private readonly api: Api,
    private readonly url: string,
    private readonly runId: string,
    /** `target` undefined: the server has no log stream, and the log is only read. */
    private readonly socket?: { target?: SocketTarget; host: Pick<Host, 'info' | 'debug'>; clock?: Clock }
  ) {}

  get polled(): boolean {
    return !(this.proven && this.feed?.live)
  }

  listen(news: () => void): void {
    if (!this.socket?.target || this.feed) return
    const { host } = this.socket
    const target = this.socket.target
    const runId = this.runId
    this.feed = new Feed<PrefectLog>(
      {
        name: `the log stream of flow run ${runId}`,
        open: (deliver, opened, signal) =>
          prefectSocket(
            target,
            '/logs/out',
            () => ({ flow_run_id: { any_: [runId] } }),
            (data) => {
              const log = data.type === 'log' ? (data.log as PrefectLog | undefined) : undefined
              if (log?.id && log.flow_run_id === runId) deliver([log])
            },
            opened,
            signal
          )
      },
      {
        host,
        fallback: 'reading the log each poll',
        deliver: (logs) => {
          // Any line at all: a server with the stream off sends none.
          this.proven = true
          if (this.pushed.length + logs.length > MAX_PUSHED) {
            this.proven = false
            return
          }
          this.pushed.push(...logs)
          news()
        },
        onHealth: news
      }
    )
  }

  flush(print: (lines: LogLine[]) => void): void {
    const fresh = this.take(this.pushed.splice(0).sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp)))
    if (fresh.length > 0) print(fresh)
  }

  async next(print: (lines: LogLine[]) => void, deadline?: number, final = false): Promise<boolean> {
    this.flush(print)
    if (final) await this.awaitLastLines(print, deadline)
    else if (!this.polled) return false
    return this.read(print, deadline, final)
  }

  private async read(print: (lines: LogLine[]) => void, deadline: number | undefined, final: boolean): Promise<boolean> {
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
      const fresh = this.take(logs)
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

  /** The lines not printed yet, remembered as printed. */
  private take(logs: PrefectLog[]): LogLine[] {
    const fresh: LogLine[] = []
    for (const log of logs) {
      if (this.seen.has(log.id)) continue
      if (log.message.startsWith(CLOSING_LINE)) this.closed = true
      const time = Date.parse(log.timestamp)
      this.seen.set(log.id, time)
      if (time > this.newest) this.newest = time
      fresh.push({ time: log.timestamp, level: levelName(log.level), message: log.message })
    }
    return fresh
  }

  /**
   * The run's process ships the lines of its last two seconds as it exits,
   * about a second after the run ended (measured on 3.8.8), and the engine's
   * closing line is always among them: once it is in, the rest is. A stream
   * that carries the log brings it the moment it is shipped; else the log is read for it
   * every quarter second. Either way the wait is bounded: a server that drops
   * INFO lines never sends it.
   */
  private async awaitLastLines(print: (lines: LogLine[]) => void, deadline = Number.POSITIVE_INFINITY): Promise<void> {
    const clock = this.socket?.clock ?? realClock
    const until = Math.min(deadline, clock.now() + FINAL_WAIT_MS)
    while (!this.closed && clock.now() < until) {
      if (!this.polled) {
        await clock.sleep(PUSH_CHECK_MS)
        this.flush(print)
      } else {
        await this.read(print, deadline, true)
        if (!this.closed) await clock.sleep(Math.min(READ_CHECK_MS, Math.max(0, until - clock.now())))
      }
    }
  }

  close(): void {
    void this.feed?.close()
  }
}
