import type { Clock } from './clock.js'
import { errorMessage, isTransient } from './errors.js'
import type { Host } from './host.js'
import type { LogFollower, Orchestrator, Run } from './orchestrator.js'
import type { Report } from './report.js'

const DRAIN_PAUSE_MS = 2_500

/** Follows the run's log into the step's log; a log that cannot be read never fails the step. */
export class LogPrinter {
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

  /** Whether more lines may be waiting already. */
  async next(deadline: number, final = false): Promise<boolean> {
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

  /** Everything left, then once more a moment after the end: lines are shipped in batches, the last may come late. */
  async drain(deadline: number): Promise<void> {
    while ((await this.next(deadline)) && this.clock.now() < deadline);
    await this.clock.sleep(Math.min(DRAIN_PAUSE_MS, Math.max(0, deadline - this.clock.now())))
    await this.next(deadline, true)
  }

  close(): void {
    this.follower.close()
  }
}
