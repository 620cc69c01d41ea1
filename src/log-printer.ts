import type { Clock } from './clock.js'
import { errorMessage, isTransient } from './errors.js'
import type { Host } from './host.js'
import type { LogFollower, Orchestrator, Run } from './orchestrator.js'
import type { Report } from './report.js'
import type { WaitLogs } from './wait.js'

/** Follows the run's log into the step's log; a log that cannot be read never fails the step. */
export class LogPrinter implements WaitLogs {
  private broken = false
  private readonly follower: LogFollower

  constructor(
    private readonly host: Host,
    private readonly orchestrator: Orchestrator,
    private readonly run: Run,
    private readonly report: Report,
    private readonly clock: Clock
  ) {
    this.follower = orchestrator.logs(run.id)
  }

  /** Lines are pushed where the orchestrator streams them: `news` says some wait to be flushed. */
  listen(news: () => void): void {
    this.follower.listen(news)
  }

  get polled(): boolean {
    return !this.broken && this.follower.polled
  }

  flush(): void {
    if (!this.broken) this.follower.flush((lines) => this.report.logs(lines))
  }

  async next(deadline: number): Promise<void> {
    await this.read(deadline)
  }

  /** Whether more lines may be waiting already. */
  private async read(deadline: number, final = false): Promise<boolean> {
    if (this.broken) return false
    try {
      return await this.follower.next((lines) => this.report.logs(lines), deadline, final)
    } catch (error) {
      if (isTransient(error)) return false
      this.broken = true
      this.host.warning(`Stopped following the log of ${this.orchestrator.product} run ${this.run.id}: ${errorMessage(error)}`)
      return false
    }
  }

  /** Everything left, then the last look, which waits as long as the orchestrator needs for lines shipped late. */
  async drain(deadline: number): Promise<void> {
    while ((await this.read(deadline)) && this.clock.now() < deadline);
    await this.read(deadline, true)
  }

  close(): void {
    this.follower.close()
  }
}
