import type { CommonInputs, Credentials } from './common-inputs.js'
import type { Host } from './host.js'
import type { Origin } from './origin.js'
import type { Clock } from './clock.js'
import type { Connection } from './feed.js'
import type { RunResults } from './results.js'

/**
 * What the action needs from an orchestrator, whatever it is. The wait loop,
 * the outputs and the summary speak only this language; each client maps its
 * own states onto `Phase` by name.
 */

/** Where a run is in its life, as far as waiting for it is concerned. */
export type Phase = 'scheduled' | 'pending' | 'running' | 'paused' | 'cancelling' | 'succeeded' | 'failed' | 'cancelled'

export type TerminalPhase = Extract<Phase, 'succeeded' | 'failed' | 'cancelled'>

export function isTerminal(phase: Phase): phase is TerminalPhase {
  switch (phase) {
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return true
    case 'scheduled':
    case 'pending':
    case 'running':
    case 'paused':
    case 'cancelling':
      return false
  }
}

export interface RunStatus {
  /** The orchestrator's state type as it sent it, e.g. `COMPLETED`. */
  state: string
  /** The finer state name, e.g. `Late`, `AwaitingRetry`. */
  stateName: string
  /** Undefined for a state this version does not know: it is reported, never waited on. */
  phase: Phase | undefined
  /** When the run entered this state, by the orchestrator's clock (ISO 8601). */
  since?: string
  /** The orchestrator's message for the state, e.g. a failure reason. */
  message?: string
  /** Seconds the run itself took, when the orchestrator knows its start and end. */
  runSeconds?: number
  /** The run's own outputs, where the orchestrator exposes them (Kestra's flow outputs). */
  outputs?: unknown
}

/** A change of state is a new type or a new name: Late and Scheduled are both SCHEDULED. */
export function sameState(a: RunStatus, b: RunStatus): boolean {
  return a.state === b.state && a.stateName === b.stateName
}

export interface Run {
  id: string
  name: string
  url: string
  /** How this step came to follow it: it created it, an identical earlier request had (`found`), or `run-id` named it. */
  made: 'created' | 'found' | 'attached'
  status: RunStatus
  /** When the run was due to start, by the orchestrator's clock: its creation, or its scheduled time when later. */
  due?: string
}

export interface LogLine {
  /** ISO 8601, as the orchestrator gives it. */
  time: string
  level: string
  message: string
}

/**
 * Follows one run's log: each call hands the lines not seen before to `print`,
 * page by page, in order, and says whether more may be waiting already (it
 * reads a bounded number of pages a call). `final` asks for one more look
 * for lines that arrived late.
 */
export interface LogFollower {
  next(print: (lines: LogLine[]) => void, deadline?: number, final?: boolean): Promise<boolean>
  /** Starts taking lines as the server pushes them, where it can; `news` says some wait for `flush`, or the stream's health changed. */
  listen(news: () => void): void
  /** Prints the lines pushed since the last call; sends nothing. */
  flush(print: (lines: LogLine[]) => void): void
  /** Whether `next` must be called each poll interval to see new lines (no live stream brings them). */
  readonly polled: boolean
  /** Lets go of anything held open (a stream); safe to call more than once. */
  close(): void
}

export interface Orchestrator {
  /** `Prefect`, for messages. */
  readonly product: string
  /** `deployment 'etl/nightly'`, for messages and the summary. */
  readonly target: string
  /** What keeps a run from being started, for the message of the start timeout. */
  readonly notStartedHint: string
  /** Resolves the target and checks the request against it (only the target, with `run-id`); creates nothing. No request outlives `deadline`. */
  prepare(deadline?: number): Promise<void>
  /**
   * Checks the request against the remote definition as closely as the
   * orchestrator allows, and describes the request that would be sent, with
   * no secret in it; creates nothing. Throws `InputError` for a parameter that
   * does not fit.
   */
  dryRun(deadline?: number): Promise<string[]>
  /** Creates the run. Safe to retry: a retried create never makes a second run. No request outlives `deadline`. */
  trigger(deadline?: number): Promise<Run>
  /** The run `run-id` names, checked to be one of the target's: `not-found` when there is none, `refused` when it is another's. */
  attach(runId: string, deadline?: number): Promise<Run>
  read(runId: string, deadline?: number): Promise<RunStatus>
  logs(runId: string): LogFollower
  /** The run's state changes as the server pushes them, where it can: news to act on, never the final word. */
  stateStream?(run: Run): Connection<RunStatus>
  /** What the run produced (artifacts, task runs), read once the wait is over; no request outlives `deadline`. */
  results(runId: string, deadline: number): Promise<RunResults>
  /** The run's page in the orchestrator's UI. */
  runUrl(runId: string): string
  /** Asks the orchestrator to stop the run; returns its state right after. Safe to repeat. */
  cancel(runId: string, reason: string, deadline: number): Promise<RunStatus>
}

/** One list, one type guard: the state enums are checked against the lists they are declared as. */
export function isOneOf<T extends string>(list: readonly T[], value: string): value is T {
  return (list as readonly string[]).includes(value)
}

/** What every client is given besides its inputs. */
export interface Context {
  host: Host
  origin: Origin
  userAgent: string
  /** What deadlines, pauses and timing windows are read on: the real clock but in tests. */
  clock?: Clock
}

/** Where a run the post step must look after is, as the main step saved it. */
interface RunLocation {
  /** The API base URL the main step used. */
  server: string
  credentials: Credentials
  /** What this orchestrator saved beyond the server (`saveTarget`), by name. */
  details: Readonly<Record<string, string>>
}

/**
 * One orchestrator, as the engine sees it: its own inputs and their rules, its
 * states, and the client that works with its API. Each lives in a folder of
 * its own (`src/prefect/`, `src/kestra/`) and is listed in `orchestrators.ts`;
 * the engine knows no orchestrator by name.
 */
export interface OrchestratorModule<I extends CommonInputs = CommonInputs> {
  /** The value of the `orchestrator` input. */
  readonly id: string
  /** `Prefect`, for messages. */
  readonly product: string
  /** Inputs that mean something to this orchestrator only, and their kind (for the CLI's options). */
  readonly inputs: Readonly<Record<string, 'string' | 'boolean'>>
  /** This orchestrator's inputs that only shape a new run: refused with `run-id`. */
  readonly creationInputs: readonly string[]
  /** The CLI's options given once per item, and the list input each gathers into: `--tag x` into `tags`. */
  readonly items: Readonly<Record<string, string>>
  /** Where `url` comes from when the input is empty, and an example for the message that asks for it. */
  readonly url: { env: string; example: string }
  /** The state types that end a run; `fail-on` must name only these. */
  readonly terminalStates: readonly string[]
  /** What `fail-on` is when it is not given. */
  readonly defaultFailOn: readonly string[]
  /** The credential inputs, with this orchestrator's environment fallbacks: also all the post step reads again. */
  credentials(host: Host): Credentials
  /** This orchestrator's own inputs, read and checked; throws `InputError`. */
  readInputs(host: Host, common: CommonInputs): I
  /** What the post step needs besides the server to find the run again (Kestra's tenant), by name. */
  saveTarget(inputs: I): Record<string, string>
  /** The state names `saveTarget` uses. */
  readonly savedNames: readonly string[]
  connect(inputs: I, context: Context): Orchestrator
  /** A client that can read and cancel a run the main step created: the post step's. */
  reconnect(location: RunLocation, context: Context): Orchestrator
}
