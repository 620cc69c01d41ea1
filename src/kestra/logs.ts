import type { Api } from '../api.js'
import { errorMessage, FlowDispatchError, isTransient } from '../errors.js'
import type { HttpStream } from '../http.js'
import type { LogFollower, LogLine } from '../orchestrator.js'
import { parseJson } from '../remote.js'
import type { Host } from '../host.js'
import { EVENT_STREAM_OPEN_LIMIT_MS, notAnEventStream, serverEvents } from '../sse.js'
import { type Clock, realClock } from '../clock.js'

/** Lines held between two polls before the stream is left unread: the server then waits, not our memory. */
const MAX_BUFFERED = 2_000
/**
 * At the end, a stream silent this long since the end was seen has delivered everything: Kestra's log stream
 * lags its execution stream (its queues are polled every 25 to 500 ms), and the last task's lines came 100 to
 * 200 ms after the execution's `end` (seen after a 40 s pause in the flow).
 */
const QUIET_MS = 500
/**
 * A line waits this long before it is printed: Kestra sends the lines of one task out of order (2, 3, 1, a few
 * milliseconds apart), and only lines printed together can be put in order.
 */
const SETTLE_MS = 200
/**
 * Lines remembered to drop a repeat: those of the last 10 s of log time (a repeat comes right after its first),
 * and those within 10 s of where each stream opened (a stream may miss lines logged as it subscribes).
 */
const REMEMBER_MS = 10_000
const MIN_PRUNE_AT = 1_000
/** However much is still coming at the end, the step does not wait longer than this for it. */
const FINAL_LIMIT_MS = 60_000
/** A stream that keeps dropping is given up for plain reads. */
const MAX_RECONNECTS = 5

interface LogEntry {
  timestamp?: string
  level?: string
  message?: string
  taskRunId?: string
}

/**
 * Follows an execution's log by server-sent events (`GET /logs/{id}/follow`),
 * and where the server does not offer that, by reading `GET /logs/{id}`
 * whole each poll. Kestra's stream first replays the stored lines, then sends
 * new ones as they come, and never ends by itself: a stream opened again
 * after a drop skips the lines taken already; the last call waits for the
 * stream to go quiet, closes it, and takes from the stored log what no stream
 * brought.
 */
export class KestraLogFollower implements LogFollower {
  private mode: 'unopened' | 'follow' | 'read' = 'unopened'
  private stream: HttpStream | undefined
  /** Set while a stream is being read; cleared when it ends, by the server, a drop or us. */
  private reading: Promise<void> | undefined
  private readonly buffered: LogLine[] = []
  /** When each buffered line came, by the follower's clock. */
  private readonly arrivals: number[] = []
  private readonly recent = new Map<string, number>()
  private newest = 0
  /** Log times where a stream opened (at most one a stream, so at most MAX_RECONNECTS + 1): the lines around each stay remembered. */
  private readonly openings: number[] = []
  /** Set when a stream opened before any line was taken: its first line marks where it opened. */
  private markFirst = false
  private pruneAt = MIN_PRUNE_AT
  private settling: NodeJS.Timeout | undefined
  /** Lines taken from the log so far, over every stream and read. */
  private taken = 0
  private reconnects = 0
  private lastEventAt = 0
  private resume: (() => void) | undefined
  private news: (() => void) | undefined
  private readonly what: string

  constructor(
    private readonly api: Api,
    private readonly path: (suffix: string) => string,
    private readonly runId: string,
    private readonly host: Host,
    /** The clock of the quiet and open limits; the stream itself comes in real time. */
    private readonly clock: Clock = realClock
  ) {
    this.what = `read the logs of execution ${runId}`
  }

  listen(news: () => void): void {
    this.news = news
  }

  get polled(): boolean {
    return this.mode !== 'follow' || !this.reading
  }

  flush(print: (lines: LogLine[]) => void): void {
    this.takeBuffered(print)
  }

  async next(print: (lines: LogLine[]) => void, deadline?: number, final = false): Promise<boolean> {
    if (this.mode === 'unopened' || (this.mode === 'follow' && !this.reading)) await this.follow(deadline)
    if (this.mode === 'read') {
      await this.readWhole(deadline)
      this.takeBuffered(print)
      return false
    }
    if (!final) return this.takeBuffered(print)
    // The stream never ends by itself: take what it sends until it has been quiet a while.
    const until = Math.min(deadline ?? Number.POSITIVE_INFINITY, this.clock.now() + FINAL_LIMIT_MS)
    this.lastEventAt = Math.max(this.lastEventAt, this.clock.now())
    do {
      this.takeBuffered(print)
      await this.clock.sleep(50)
    } while (this.reading && this.clock.now() < until && this.clock.now() - this.lastEventAt < QUIET_MS)
    // Then the stored log, for what no stream brought: one that could not be opened again, or one a proxy stalled.
    const pumping = this.reading
    this.close()
    await pumping
    await this.readWhole(deadline)
    this.takeBuffered(print, true)
    return false
  }

  /**
   * Prints the lines that have settled (`all`: every line waiting), by the time they were logged, with any line
   * that came later but was logged before the last of them; lets the stream go on; says whether it had stopped
   * reading it. Kestra stores, replays and streams lines in the order its queue delivered them, which is not
   * always the order they were logged in.
   */
  private takeBuffered(print: (lines: LogLine[]) => void, all = false): boolean {
    const full = this.buffered.length >= MAX_BUFFERED
    const now = this.clock.now()
    const settled = all || full ? this.buffered.length : this.arrivals.filter((at) => now - at >= SETTLE_MS).length
    if (settled > 0) {
      const last = this.buffered.slice(0, settled).sort(byTime).at(-1) as LogLine
      const ready: LogLine[] = []
      const kept: Array<[LogLine, number]> = []
      this.buffered.forEach((line, i) => {
        if (i < settled || byTime(line, last) <= 0) ready.push(line)
        else kept.push([line, this.arrivals[i]])
      })
      this.buffered.splice(0, this.buffered.length, ...kept.map(([line]) => line))
      this.arrivals.splice(0, this.arrivals.length, ...kept.map(([, at]) => at))
      print(ready.sort(byTime))
    }
    if (this.buffered.length > 0) this.settleLater()
    if (this.resume) {
      // A stream we had stopped reading was not quiet: it was waiting for us.
      this.lastEventAt = this.clock.now()
      this.resume()
      this.resume = undefined
    }
    return full
  }

  close(): void {
    clearTimeout(this.settling)
    this.settling = undefined
    this.stream?.close()
    this.stream = undefined
    // A pump held for want of reading would wait for ever on a stream that is gone.
    this.resume?.()
    this.resume = undefined
  }

  /**
   * Whether a line was taken already. Where a replay (a new stream's first lines, the stored log) holds as many
   * lines as were taken, those lines were taken but for the few a stream missed as it opened: Kestra's may miss
   * lines logged while it subscribes, replayed by neither half of it (seen on 1.3 and 2.0, with a flow that logs
   * at once). So a line near an opening or among the newest is looked up by its key; only another is taken on
   * trust.
   */
  private known(entry: LogEntry, replayed: boolean): boolean {
    if (replayed && !this.remembered(Date.parse(entry.timestamp ?? '') || 0)) return true
    return this.isRepeat(entry)
  }

  /** Whether the lines logged at `time` are remembered (see REMEMBER_MS). */
  private remembered(time: number): boolean {
    return time >= this.newest - REMEMBER_MS || this.openings.some((at) => Math.abs(time - at) <= REMEMBER_MS)
  }

  /** Whether this line was taken already, by its key; remembers it if not. */
  private isRepeat(entry: LogEntry): boolean {
    const key = `${entry.timestamp}|${entry.taskRunId}|${entry.message}`
    if (this.recent.has(key)) return true
    const time = Date.parse(entry.timestamp ?? '') || 0
    this.recent.set(key, time)
    this.newest = Math.max(this.newest, time)
    if (this.markFirst) {
      this.markFirst = false
      this.openings.push(time)
    }
    if (this.recent.size > this.pruneAt) {
      for (const [old, at] of this.recent) if (!this.remembered(at)) this.recent.delete(old)
      // However fast the lines come, the map is swept once each time it doubles.
      this.pruneAt = Math.max(MIN_PRUNE_AT, 2 * this.recent.size)
    }
    return false
  }

  /** Rings the loop once the oldest line waiting has settled (in real time: the stream comes in real time). */
  private settleLater(): void {
    if (this.settling) return
    this.settling = setTimeout(() => {
      this.settling = undefined
      this.news?.()
    }, SETTLE_MS)
    this.settling.unref()
  }

  private async follow(deadline?: number): Promise<void> {
    if (this.reconnects > MAX_RECONNECTS) {
      this.host.info(`The log stream of execution ${this.runId} dropped ${MAX_RECONNECTS} times; reading the log whole from now on`)
      this.mode = 'read'
      return
    }
    let stream: HttpStream
    try {
      const until = Math.min(deadline ?? Number.POSITIVE_INFINITY, this.clock.now() + EVENT_STREAM_OPEN_LIMIT_MS)
      stream = await this.api.open(
        `follow the logs of execution ${this.runId}`,
        this.path(`/logs/${encodeURIComponent(this.runId)}/follow`),
        'text/event-stream',
        until
      )
    } catch (error) {
      if (!(error instanceof FlowDispatchError) || !isTransient(error)) throw error
      // A proxy that holds an answer until it is complete never passes a stream's headers on: plain reads get through.
      if (error.code === 'ETIMEDOUT') {
        this.host.info(`The log stream of execution ${this.runId} did not open (${error.message}); reading the log whole each poll instead`)
        this.mode = 'read'
      } else {
        this.reconnects++
        this.host.debug(`Could not open the log stream of execution ${this.runId}: ${error.message}`)
      }
      return
    }
    const refusal = notAnEventStream(stream)
    if (refusal) {
      stream.close()
      // 401 and 403 say the same for both ways of reading; anything else means this server has no stream for logs.
      if (stream.status === 401 || stream.status === 403)
        this.api.ok({ status: stream.status, headers: stream.headers, body: '' }, this.what)
      this.host.debug(`No log stream for execution ${this.runId} (${refusal}); reading the log whole each poll`)
      this.mode = 'read'
      return
    }
    if (this.mode === 'follow') this.reconnects++
    this.mode = 'follow'
    this.stream = stream
    if (this.newest > 0) this.openings.push(this.newest)
    else this.markFirst = true
    // A new stream replays before it says anything new: it is not quiet yet.
    this.lastEventAt = this.clock.now()
    this.reading = this.pump(stream, this.taken).finally(() => {
      this.reading = undefined
      // Dropped: the loop must ask again (which opens it again) rather than wait for lines that will not come.
      this.news?.()
    })
  }

  /** Parses the events as they come; the lines a new stream replays that were taken already are skipped. */
  private async pump(stream: HttpStream, skip: number): Promise<void> {
    try {
      for await (const event of serverEvents(stream.body)) {
        const entry = parseEntry(event.data)
        if (!entry) continue
        this.lastEventAt = this.clock.now()
        const replayed = skip > 0
        if (replayed) skip--
        // A server that has run long sometimes sends a line twice (its replay of stored lines and its live
        // subscription overlap): the same instant, task run and text is the same line.
        if (this.known(entry, replayed)) continue
        this.taken++
        this.arrivals.push(this.clock.now())
        // The loop flushes all that has settled: one word when the first line has is enough.
        if (this.buffered.push(toLine(entry)) === 1) this.settleLater()
        // Unread, the socket fills and the server waits: memory stays bounded however fast lines come.
        if (this.buffered.length >= MAX_BUFFERED) await new Promise<void>((resolve) => (this.resume = resolve))
      }
    } catch (error) {
      // A stream we closed ends this way too; one that dropped is opened again on the next poll.
      if (this.stream === stream) this.host.debug(`The log stream of execution ${this.runId} ended: ${errorMessage(error)}`)
    }
  }

  /** `GET /logs/{id}` answers the whole log, oldest first: take the lines not taken yet. A 404 means not visible yet. */
  private async readWhole(deadline?: number): Promise<void> {
    const response = await this.api.send(this.what, {
      method: 'GET',
      url: this.path(`/logs/${encodeURIComponent(this.runId)}`),
      idempotent: true,
      deadline
    })
    if (response.status === 404) return
    const entries = parseJson<LogEntry[]>(this.api.ok(response, this.what), this.what)
    for (const [i, entry] of entries.entries()) {
      if (this.known(entry, i < this.taken)) continue
      this.buffered.push(toLine(entry))
      // Read whole, the log is complete up to here: nothing is left to settle.
      this.arrivals.push(Number.NEGATIVE_INFINITY)
    }
    this.taken = Math.max(this.taken, entries.length)
  }
}

/** One event's log entry; none for the stream's opening event, which carries an empty entry. */
function parseEntry(data: string): LogEntry | undefined {
  if (data === '') return undefined
  const entry = JSON.parse(data) as LogEntry
  return entry.message === undefined && entry.timestamp === undefined ? undefined : entry
}

/** Kestra's instants carry up to nine fraction digits, and lines of one task differ in the fourth: Date keeps three. */
export function byTime(a: LogLine, b: LogLine): number {
  const [secondsA, fractionA] = splitInstant(a.time)
  const [secondsB, fractionB] = splitInstant(b.time)
  return secondsA - secondsB || (fractionA < fractionB ? -1 : fractionA > fractionB ? 1 : 0)
}

function splitInstant(time: string): [number, string] {
  const match = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(time)
  if (!match) return [Date.parse(time) || 0, '']
  return [Date.parse(`${match[1]}${match[3]}`) || 0, (match[2] ?? '').padEnd(9, '0')]
}

function toLine(entry: LogEntry): LogLine {
  return { time: entry.timestamp ?? '', level: entry.level ?? '', message: entry.message ?? '' }
}
