// Real time, whatever clock the wait is on: a stream's backoff paces real connections.
import { realClock } from './clock.js'
import { errorMessage } from './errors.js'
import type { Host } from './host.js'

/**
 * A stream this server or runtime does not offer (an old server, a proxy that
 * refuses upgrades, a setting turned off): not worth opening again.
 */
export class NoStream extends Error {}

/** How one connection ended without an error. */
export type StreamEnd =
  /** The server said it has nothing more to send (Kestra's `end`): not reopened. */
  | 'complete'
  /** The server closed it without saying so: reopened. */
  | 'closed'

/** One connection to a stream the orchestrator pushes, as each orchestrator opens and reads it. */
export interface Connection<T> {
  /** `the event stream of flow run …`, for the log. */
  readonly name: string
  /**
   * Opens the stream and hands over what it carries until it ends, which the
   * promise tells; it rejects when the stream cannot be opened or drops, with
   * `NoStream` when there is none to open. `opened` is called once it is live.
   * `signal` closes it from our side; the promise then resolves `closed`.
   */
  open(deliver: (items: T[]) => void, opened: () => void, signal: AbortSignal): Promise<StreamEnd>
}

/** Attempts to open a stream that has never opened before it is given up for polling. */
const FIRST_ATTEMPTS = 3
const FIRST_BACKOFF_MS = 1_000
const MAX_BACKOFF_MS = 30_000

export interface FeedOptions<T> {
  host: Pick<Host, 'info' | 'debug'>
  deliver(items: T[]): void
  /** Health changed: opened, dropped, given up or complete. */
  onHealth?(): void
  /** What the wait does meanwhile, for the one line that says the stream is not used: `reading the state every 10 s`. */
  fallback: string
}

/**
 * Keeps one stream open for as long as the wait needs it: reopened with
 * backoff whenever it drops, given up for good when the server has none or
 * it never opens. What it delivers is only ever a reason to look: the caller
 * reads the run itself for anything that counts.
 */
export class Feed<T> {
  private healthy = false
  private changeCount = 0
  private stopped = false
  private everOpened = false
  private told = false
  private readonly stop = new AbortController()
  private current: AbortController | undefined
  private readonly running: Promise<void>

  constructor(
    private readonly connection: Connection<T>,
    private readonly options: FeedOptions<T>
  ) {
    this.running = this.keepOpen()
  }

  /** Open and delivering now. */
  get live(): boolean {
    return this.healthy
  }

  /** Grows at each change of health (opened, dropped, complete, given up): a wait that sees it grow reads the run. */
  get changes(): number {
    return this.changeCount
  }

  /** Given up, ended or closed: nothing more will come. */
  get done(): boolean {
    return this.stopped
  }

  /** The stream may be stalled (it missed news a read found): close it and open it again at once. */
  reopen(reason: string): void {
    if (!this.current || this.stopped) return
    this.options.host.debug(`Reopening ${this.connection.name}: ${reason}`)
    this.current.abort()
  }

  async close(): Promise<void> {
    this.stopped = true
    this.stop.abort()
    await this.running
  }

  private async keepOpen(): Promise<void> {
    const { host } = this.options
    let failures = 0
    while (!this.stopped) {
      const attempt = new AbortController()
      this.current = attempt
      const onStop = () => attempt.abort()
      this.stop.signal.addEventListener('abort', onStop, { once: true })
      let end: StreamEnd | undefined
      let failure: unknown
      try {
        end = await this.connection.open(
          (items) => {
            if (!this.stopped && items.length > 0) this.options.deliver(items)
          },
          () => {
            failures = 0
            this.everOpened = true
            this.setHealthy(true)
            host.debug(`Opened ${this.connection.name}`)
          },
          attempt.signal
        )
      } catch (error) {
        failure = error
      } finally {
        this.stop.signal.removeEventListener('abort', onStop)
        this.current = undefined
        this.setHealthy(false)
      }
      if (this.stopped) return
      if (end === 'complete') {
        host.debug(`${capitalized(this.connection.name)} is complete`)
        return this.finish()
      }
      if (failure instanceof NoStream) return this.giveUp(failure.message)
      // We closed it ourselves to open it afresh: no pause, and no failure of the stream's.
      if (attempt.signal.aborted && failure === undefined) continue
      failures++
      if (!this.everOpened && failures >= FIRST_ATTEMPTS)
        return this.giveUp(`it did not open (${failure === undefined ? 'closed at once' : errorMessage(failure)})`)
      const why = failure === undefined ? 'the server closed it' : errorMessage(failure)
      // Until a stream has opened once, its failures are told when it is given up; a drop is news at once.
      const text = `${capitalized(this.connection.name)} ${this.everOpened ? 'dropped' : 'did not open'} (${why}); opening it again, ${this.options.fallback} meanwhile`
      if (this.everOpened) this.tell(text)
      else host.debug(text)
      const pause = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1)) * (0.8 + Math.random() * 0.4)
      // Closed during the pause: the loop's condition ends it.
      await realClock.sleep(pause, this.stop.signal).catch((error: unknown) => {
        if (!this.stop.signal.aborted) throw error
      })
    }
  }

  private giveUp(why: string): void {
    this.tell(`Not using ${this.connection.name}: ${why}; ${this.options.fallback} instead`, true)
    this.finish()
  }

  private finish(): void {
    this.stopped = true
    this.changeCount++
    this.options.onHealth?.()
  }

  /** The first word about the stream failing goes to the log; the rest only to debug, so a flapping stream cannot flood it. */
  private tell(text: string, always = false): void {
    if (this.told && !always) {
      this.options.host.debug(text)
      return
    }
    this.told = true
    this.options.host.info(text)
  }

  private setHealthy(healthy: boolean): void {
    if (this.healthy === healthy) return
    this.healthy = healthy
    this.changeCount++
    this.options.onHealth?.()
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}
