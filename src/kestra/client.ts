import { openAsBlob, statSync } from 'node:fs'
import { basename } from 'node:path'
import { Api, describeAuthorization } from '../api.js'
import { errorMessage, FlowDispatchError, InputError, isTransient } from '../errors.js'
import { type Credentials, mask } from '../common-inputs.js'
import type { Host } from '../host.js'
import { type Context, isTerminal, type LogFollower, type Orchestrator, type Run, type RunStatus } from '../orchestrator.js'
import { deriveIdempotencyKey, type Origin, originLabels } from '../origin.js'
import { parseJson } from '../remote.js'
import type { KestraInputs } from './inputs.js'
import { kestraStateEvents } from './follow.js'
import type { Connection } from '../feed.js'
import { KestraLogFollower } from './logs.js'
import { kestraPhase } from './states.js'
import { describeInputs, type Field, type FlowInput, formFields, givenLeaves, leafInputs } from './input-values.js'
import { type Clock, latestTime, realClock } from '../clock.js'
import type { RunResults } from '../results.js'
import { kestraResults } from './results.js'
import type { HttpResponse } from '../http.js'
import { isPlainObject } from '../mapping.js'

/**
 * Kestra has no idempotency key, so each create carries this label with a key
 * of its own; before the first create and before any retry of it, we look for
 * an execution that already has it.
 */
const KEY_LABEL = 'flow-dispatch-key'

/** A new execution is queued, not written: for a while a read of it may find nothing (Kestra's own follow waits 10s). */
const VISIBILITY_MS = 30_000

/** The version is a convenience: a server slow to give it is handled as one of unknown version, not waited for. */
const VERSION_MS = 10_000

/** A version as Kestra writes it (`1.3.31`, `2.0.0`, `2.1.0-SNAPSHOT`); anything else is not shown, for it is the server's text. */
const VERSION = /^(\d{1,4})\.\d{1,4}(?:\.\d{1,4})?(?:[-+][0-9A-Za-z.-]{1,40})?$/

interface Flow {
  id: string
  namespace: string
  revision?: number
  disabled?: boolean
  inputs?: FlowInput[] | null
}

interface Execution {
  id: string
  namespace: string
  flowId: string
  scheduleDate?: string | null
  state: {
    current: string
    histories?: Array<{ state: string; date: string }>
    startDate?: string
    endDate?: string | null
  }
  outputs?: Record<string, unknown> | null
}

export class KestraClient implements Orchestrator {
  readonly product = 'Kestra'
  readonly notStartedHint =
    "Kestra did not start it. A QUEUED execution waits behind the flow's concurrency limit (other executions of it are running); a CREATED one waits for the executor."
  readonly target: string
  private readonly api: Api
  private createdAt = 0
  private lastStatus?: RunStatus
  /** The parameters' form fields, made by `prepare` from the flow's declared inputs. */
  private fields?: Field[]
  /** What `GET /api/v1/configs` said in `prepare`; undefined where it could not be read (and in the post step). */
  private serverVersion?: string
  /** Flow outputs read from their own endpoint (2.0), by execution: once the execution has ended, once. */
  private readonly flowOutputs = new Map<string, Record<string, unknown> | undefined>()

  private readonly host: Host
  private readonly origin: Origin
  private readonly clock: Clock

  constructor(
    private readonly inputs: KestraInputs,
    { host, origin, userAgent, clock = realClock }: Context
  ) {
    this.host = host
    this.origin = origin
    this.clock = clock
    this.target = `flow '${inputs.flow}' in namespace '${inputs.namespace}'`
    this.api = new Api({
      product: 'Kestra',
      server: inputs.url,
      credentials: inputs.credentials,
      userAgent,
      host,
      credentialHint,
      clock
    })
  }

  /** `/api/v1/<tenant>/...`; servers from before 0.23 have no tenant in their paths. */
  private path(rest: string): string {
    const tenant = this.inputs.tenant === undefined ? '' : `/${encodeURIComponent(this.inputs.tenant)}`
    return `${this.inputs.url}/api/v1${tenant}${rest}`
  }

  private flowPath(): string {
    return `${encodeURIComponent(this.inputs.namespace)}/${encodeURIComponent(this.inputs.flow)}`
  }

  /** The server's major version, when `prepare` could read it. */
  private major(): number | undefined {
    const match = VERSION.exec(this.serverVersion ?? '')
    return match ? Number(match[1]) : undefined
  }

  /**
   * Reads the server's version (`GET /api/v1/configs`, open without credentials on every version), for what
   * changed in 2.0: where the flow outputs are, and the kill's route. A server that does not say is answered
   * as either version could be.
   */
  private async readVersion(deadline?: number): Promise<void> {
    const what = `read the version of ${this.api.serverName}`
    const fallback = 'answers of Kestra 1.x and 2.x are both handled'
    try {
      const response = await this.api.send(what, {
        method: 'GET',
        url: `${this.inputs.url}/api/v1/configs`,
        idempotent: true,
        deadline: Math.min(deadline ?? Number.POSITIVE_INFINITY, this.clock.now() + VERSION_MS)
      })
      const { version } = parseJson<{ version?: unknown }>(this.api.ok(response, what), what)
      if (typeof version === 'string' && VERSION.test(version)) {
        this.serverVersion = version
        this.host.debug(`${this.api.serverName} is version ${version}`)
      } else this.host.debug(`${this.api.serverName} gave no version it could be told by; ${fallback}`)
    } catch (error) {
      if (!(error instanceof FlowDispatchError)) throw error
      this.host.debug(`Could not ${what} (${error.message}); ${fallback}`)
    }
  }

  async prepare(deadline?: number): Promise<void> {
    await this.readVersion(deadline)
    const what = `look up ${this.target}`
    const revision = this.inputs.revision === undefined ? '' : `?revision=${this.inputs.revision}`
    const response = await this.api.send(what, {
      method: 'GET',
      url: this.path(`/flows/${this.flowPath()}${revision}`),
      idempotent: true,
      deadline,
      untilDeadline: true
    })
    if (response.status === 404) {
      throw new FlowDispatchError(
        'not-found',
        `${this.serverWithTenant()} has no ${this.target}${this.inputs.revision ? ` at revision ${this.inputs.revision}` : ''}. Check both names: they are case-sensitive.`,
        { status: 404 }
      )
    }
    const flow = parseJson<Flow>(this.api.ok(response, what), what)
    this.host.info(`Kestra ${this.target}: revision ${flow.revision ?? 'unknown'}`)
    // A disabled flow's executions still run to their end, and one that exists was checked when it was made.
    if (this.inputs.runId !== undefined) return
    if (flow.disabled) throw new FlowDispatchError('refused', `${this.target} is disabled on ${this.api.serverName}: enable it to run it.`)
    this.checkInputs(flow.inputs ?? [])
  }

  /**
   * Kestra ignores inputs a flow does not declare, stores a FILE input sent as
   * text as a server path, and reads some values its type cannot hold as
   * something else: refuse them all, and keep the fields for the create.
   */
  private checkInputs(declared: FlowInput[]): void {
    const byId = new Map(declared.map((item) => [item.id, item]))
    const list = describeInputs(declared)
    const fields: Field[] = []
    const given = new Set<string>()
    for (const [name, value] of Object.entries(this.inputs.parameters ?? {})) {
      const item = byId.get(name)
      if (!item) throw new InputError('parameters', `names '${name}', which ${this.target} does not declare; its inputs: ${list}`)
      fields.push(...formFields(item, value))
      for (const leaf of givenLeaves(item, value)) given.add(leaf)
    }
    // A FORM's FILE inputs are file parts named `form.input`, like the server's own names for them.
    const leaves = leafInputs(declared)
    const leafById = new Map(leaves.map((item) => [item.id, item]))
    for (const { input } of this.inputs.files) {
      const item = leafById.get(input)
      if (!item) throw new InputError('files', `names '${input}', which ${this.target} does not declare; its inputs: ${list}`)
      if (item.type !== 'FILE') throw new InputError('files', `gives a file for '${input}', a ${item.type} input: give it in 'parameters'`)
      given.add(input)
    }
    // Null leaves an input out. Not required either: one with a default (an auto-selected first value is one), or whose dependsOn may disable it,
    // or a REUSABLE_INPUTS (2.0), whose inputs only the server knows.
    const missing = leaves.filter(
      (item) =>
        item.required !== false &&
        item.type !== 'REUSABLE_INPUTS' &&
        item.defaults === undefined &&
        !(item.autoSelectFirst === true && Array.isArray(item.values) && item.values.length > 0) &&
        item.dependsOn === undefined &&
        !given.has(item.id)
    )
    if (missing.length > 0) {
      throw new InputError(
        'parameters',
        `lacks the required input${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m.id}' (${m.type})`).join(', ')} of ${this.target}`
      )
    }
    // A SECRET input's value is as secret as a password: masked in the log and redacted in the summary.
    for (const field of fields) if (field.type === 'SECRET') mask(this.host, field.text)
    this.fields = fields
  }

  /** The key that marks this step's execution; the same for every retry of the step. */
  private key(): string {
    const { inputs } = this
    const request = {
      parameters: inputs.parameters ?? {},
      files: inputs.files.map((file) => [file.input, file.path, statSync(file.path).size]),
      labels: inputs.labels,
      revision: inputs.revision,
      scheduledTime: inputs.scheduledTime
    }
    return inputs.idempotencyKey ?? deriveIdempotencyKey(this.origin, `${inputs.tenant ?? ''}/${inputs.namespace}/${inputs.flow}`, request)
  }

  /** Kestra checks the inputs itself at `.../validate`, as it would on create; servers without it are checked by the flow's declarations only. */
  async dryRun(deadline?: number): Promise<string[]> {
    const body = await this.form()
    const what = `validate the inputs of ${this.target}`
    const response = await this.api.send(what, {
      method: 'POST',
      url: this.path(`/executions/${this.flowPath()}/validate`),
      body,
      idempotent: true,
      deadline
    })
    const lines: string[] = []
    if (response.status === 404) {
      lines.push(`(${this.api.serverName} has no input validation endpoint; the inputs were checked against the flow's declarations only)`)
    } else {
      const result = parseJson<{ inputs?: Array<{ input?: { id?: string }; errors?: Array<{ message?: string }> }> }>(
        this.api.ok(response, what),
        what
      )
      const problems = (result.inputs ?? []).flatMap((item) =>
        (item.errors ?? []).map((error) => `'${item.input?.id ?? '?'}': ${error.message ?? 'invalid'}`)
      )
      if (problems.length > 0) throw new InputError('parameters', `does not fit ${this.target}: ${problems.join('; ')}`)
    }
    return [
      `POST ${this.path(`/executions/${this.flowPath()}?${this.query(this.key())}`)}`,
      describeAuthorization(this.inputs.credentials),
      'multipart/form-data:',
      ...this.preparedFields().map((field) => `  ${field.name}: ${field.type === 'SECRET' ? '(secret, not shown)' : field.text}`),
      ...this.inputs.files.map((file) => `  ${file.input}: file ${basename(file.path)} (${statSync(file.path).size} bytes)`),
      ...lines
    ]
  }

  async trigger(deadline?: number): Promise<Run> {
    const key = this.key()
    this.host.debug(`Idempotency label: ${KEY_LABEL}=${key}`)
    const earlier = await this.findByKey(key, 0, deadline)
    if (earlier) return this.foundEnded(this.toRun(earlier, 'found'), deadline)

    const body = await this.form()
    const what = `execute ${this.target}`
    const url = this.path(`/executions/${this.flowPath()}?${this.query(key)}`)
    // Until the step's timeout, not a number of times: each repeat follows a look-up by key, so a busy server costs time, never a second execution.
    for (let attempt = 1; ; attempt++) {
      let failure: unknown
      try {
        // Never retried blindly: only after the look-up below finds no execution with our key.
        const response = await this.api.send(what, { method: 'POST', url, body, idempotent: false, deadline })
        if (response.status === 404) {
          throw new FlowDispatchError('not-found', `${this.api.serverName} has no ${this.target}: it went away after the look-up.`, {
            status: 404
          })
        }
        return this.toRun(parseJson<Execution>(this.api.ok(response, what), what), 'created')
      } catch (error) {
        if (!isTransient(error) || (deadline !== undefined && this.clock.now() >= deadline)) throw error
        failure = error
      }
      const news = `The request to ${what} may or may not have created it (${(failure as Error).message})`
      if (attempt === 1) this.host.info(`${news}; looking for it by its key before each new try, until the step's timeout`)
      else this.host.debug(`Attempt ${attempt}: ${news}`)
      const found = await this.findByKey(key, VISIBILITY_MS / 3, deadline)
      if (found) return this.toRun(found, 'created')
    }
  }

  /** `labels=key:value` query items (Kestra splits at the first ':'), and the other query parameters. */
  private query(key: string): string {
    const { origin, inputs } = this
    const labels: Record<string, string> = {
      ...originLabels(origin),
      ...inputs.labels,
      [KEY_LABEL]: key
    }
    const query = new URLSearchParams()
    for (const [name, value] of Object.entries(labels)) query.append('labels', `${name}:${value}`)
    if (inputs.revision !== undefined) query.set('revision', String(inputs.revision))
    if (inputs.scheduledTime) query.set('scheduleDate', inputs.scheduledTime)
    return query.toString()
  }

  private preparedFields(): Field[] {
    if (!this.fields) throw new Error('KestraClient: prepare() must check the inputs against the flow before a request is made')
    return this.fields
  }

  /** The parameters' fields as `prepare` made them from the declared types (see input-values.ts); files as file parts. */
  private async form(): Promise<{ contentType: string; data: Buffer }> {
    const form = new FormData()
    for (const field of this.preparedFields()) form.append(field.name, field.text)
    for (const file of this.inputs.files) form.append(file.input, await openAsBlob(file.path), basename(file.path))
    // Node's own multipart encoder, through a Request, gives the body and its boundary.
    const encoded = new Request('http://localhost/', { method: 'POST', body: form })
    return { contentType: encoded.headers.get('content-type') ?? 'multipart/form-data', data: Buffer.from(await encoded.arrayBuffer()) }
  }

  /** The execution that carries our key, looking for up to `patienceMs` while a fresh one may not be visible yet. */
  private async findByKey(key: string, patienceMs: number, deadline?: number): Promise<Execution | undefined> {
    const query = new URLSearchParams({ size: '2' })
    if (this.inputs.tenant === undefined) {
      query.set('namespace', this.inputs.namespace)
      query.set('flowId', this.inputs.flow)
      query.append('labels', `${KEY_LABEL}:${key}`)
    } else {
      query.set('filters[namespace][EQUALS]', this.inputs.namespace)
      query.set('filters[flowId][EQUALS]', this.inputs.flow)
      query.set(`filters[labels][EQUALS][${KEY_LABEL}]`, key)
    }
    const what = `look for an execution of ${this.target} with ${KEY_LABEL}=${key}`
    const giveUpAt = Math.min(this.clock.now() + patienceMs, deadline ?? Number.POSITIVE_INFINITY)
    for (let pause = 1_000; ; pause *= 2) {
      const response = await this.api.send(what, {
        method: 'GET',
        url: this.path(`/executions/search?${query}`),
        idempotent: true,
        deadline,
        untilDeadline: true
      })
      const { results = [] } = parseJson<{ results?: Execution[] }>(this.api.ok(response, what), what)
      if (results.length > 1)
        this.host.warning(`${results.length} executions of ${this.target} carry ${KEY_LABEL}=${key}; following the first`)
      if (results.length > 0 || this.clock.now() + pause > giveUpAt) return results[0]
      await this.clock.sleep(pause)
    }
  }

  /** A run that had ended when it was found: the wait reads nothing more of it, so its outputs are read now (a search's executions lack them on 2.0). */
  private async foundEnded(run: Run, deadline?: number): Promise<Run> {
    if (run.status.phase === undefined || !isTerminal(run.status.phase)) return run
    return { ...run, status: await this.read(run.id, deadline) }
  }

  private toRun(execution: Execution, made: Run['made']): Run {
    const status = toStatus(execution)
    this.lastStatus = status
    this.createdAt = this.clock.now()
    return { id: execution.id, name: execution.id, url: this.runUrl(execution.id), made, status }
  }

  async attach(runId: string, deadline?: number): Promise<Run> {
    const what = `read execution ${runId}`
    // Nothing is followed without it: like the look-up, it waits out a busy server for as long as the step may.
    const response = await this.getExecution(runId, what, deadline, true)
    if (response.status === 404) {
      throw new FlowDispatchError(
        'not-found',
        `${this.serverWithTenant()} has no execution ${runId}: check ${this.host.inputLabel('run-id')}.`,
        { status: 404 }
      )
    }
    const execution = parseJson<Execution>(this.api.ok(response, what), what)
    // Following another flow's execution would gate this step on the wrong pipeline.
    if (execution.namespace !== this.inputs.namespace || execution.flowId !== this.inputs.flow) {
      throw new FlowDispatchError(
        'refused',
        `Execution ${runId} is not one of ${this.target}: it belongs to flow '${execution.flowId}' in namespace '${execution.namespace}'. Check ${this.host.inputLabel('run-id')}, ${this.host.inputLabel('namespace')} and ${this.host.inputLabel('flow')}.`
      )
    }
    // The first state is the creation's.
    const run = this.toRun(execution, 'attached')
    this.lastStatus = await this.withOutputs(execution, run.status, deadline)
    return { ...run, status: this.lastStatus, due: latestTime(execution.state.histories?.[0]?.date, execution.scheduleDate) }
  }

  async read(runId: string, deadline?: number): Promise<RunStatus> {
    const what = `read execution ${runId}`
    const response = await this.getExecution(runId, what, deadline)
    if (response.status === 404) {
      if (this.lastStatus && this.clock.now() - this.createdAt < VISIBILITY_MS) return this.lastStatus
      throw this.deleted(runId)
    }
    const execution = parseJson<Execution>(this.api.ok(response, what), what)
    this.lastStatus = await this.withOutputs(execution, toStatus(execution), deadline)
    return this.lastStatus
  }

  /**
   * The status with the flow outputs of an execution that has ended. Up to 1.3 they are in the execution;
   * the 2.0 server of the tests keeps them apart, at `GET /outputs/executions/{id}` (`{}` until the execution
   * has ended), while Kestra's 2.0.0 migration guide says the execution still carries them: either is read.
   * A 1.x server is never asked for them apart, a server of unknown version is, once.
   */
  private async withOutputs(execution: Execution, status: RunStatus, deadline?: number): Promise<RunStatus> {
    const major = this.major()
    if ('outputs' in execution || status.phase === undefined || !isTerminal(status.phase) || (major !== undefined && major < 2))
      return status
    if (!this.flowOutputs.has(execution.id)) {
      const outputs = await this.readFlowOutputs(execution.id, deadline)
      if (outputs === null) return status
      this.flowOutputs.set(execution.id, outputs)
    }
    const outputs = this.flowOutputs.get(execution.id)
    return outputs === undefined ? status : { ...status, outputs }
  }

  /** The flow outputs from their own endpoint: undefined where there are none (or no such endpoint), null when they could not be read now. */
  private async readFlowOutputs(runId: string, deadline?: number): Promise<Record<string, unknown> | undefined | null> {
    const what = `read the flow outputs of execution ${runId}`
    try {
      const response = await this.api.send(what, {
        method: 'GET',
        url: this.path(`/outputs/executions/${encodeURIComponent(runId)}`),
        idempotent: true,
        deadline
      })
      // A server with no such route: its executions carry their outputs, or it keeps them where we cannot read them.
      if (response.status === 404 || response.status === 405) {
        this.host.debug(`${this.api.serverName} has no flow outputs endpoint (${response.status}), and execution ${runId} carries none`)
        return undefined
      }
      const outputs = parseJson<unknown>(this.api.ok(response, what), what)
      if (!isPlainObject(outputs)) {
        this.host.warning(
          `Could not ${what}: ${this.api.serverName} answered something other than a mapping; the outputs output is not set`
        )
        return undefined
      }
      // A flow that declares no outputs has none, as up to 1.3, where its execution has no outputs.
      return Object.keys(outputs).length > 0 ? outputs : undefined
    } catch (error) {
      if (!(error instanceof FlowDispatchError)) throw error
      this.host.warning(`Could not ${what}: ${errorMessage(error)}; the outputs output is not set`)
      return null
    }
  }

  /** `GET /executions/{id}`, whose answer holds the state, the task runs and, up to 1.3, the flow outputs. */
  private getExecution(runId: string, what: string, deadline?: number, untilDeadline = false): Promise<HttpResponse> {
    const url = this.path(`/executions/${encodeURIComponent(runId)}`)
    return this.api.send(what, { method: 'GET', url, idempotent: true, deadline, untilDeadline })
  }

  /** The server, and its tenant where paths have one: where a missing flow or execution was looked for. */
  private serverWithTenant(): string {
    return this.inputs.tenant === undefined ? this.api.serverName : `${this.api.serverName} (tenant '${this.inputs.tenant}')`
  }

  private deleted(runId: string): FlowDispatchError {
    return new FlowDispatchError('not-found', `${this.api.serverName} has no execution ${runId}: it was deleted`, { status: 404 })
  }

  /**
   * 2.0 kills at `DELETE /actions/kill`, 0.23 to 1.3 at `DELETE /kill`; each answers 404 or 405 to the other's
   * route, so a server of unknown version is asked at both. The kill answers `text/json` only (Http accepts
   * it): 2.0 answers `Accept: application/json` alone with 406, and kills nothing.
   */
  async cancel(runId: string, _reason: string, deadline: number): Promise<RunStatus> {
    const what = `kill execution ${runId}`
    const major = this.major()
    const routes = major === undefined ? ['/actions/kill', '/kill'] : major >= 2 ? ['/actions/kill'] : ['/kill']
    let first: HttpResponse | undefined
    for (const [i, action] of routes.entries()) {
      const url = this.path(`/executions/${encodeURIComponent(runId)}${action}?isOnKillCascade=true`)
      const response = await this.api.send(what, { method: 'DELETE', url, idempotent: true, deadline })
      if (i < routes.length - 1 && (response.status === 404 || response.status === 405)) {
        first = response
        continue
      }
      if (response.status === 409) {
        this.host.info(`Kestra did not kill execution ${runId}: it had already ended`)
        break
      }
      // The last route's 405 says only that it is not this server's route: the first one's answer is the one that counts.
      this.api.ok(response.status === 405 && first ? first : response, what)
      this.host.info(`Kestra accepted the kill of execution ${runId}`)
      break
    }
    return this.read(runId, deadline)
  }

  stateStream(run: Run): Connection<RunStatus> {
    return kestraStateEvents(this.api, this.path(`/executions/${encodeURIComponent(run.id)}/follow`), run.id, this.clock)
  }

  logs(runId: string): LogFollower {
    return new KestraLogFollower(this.api, (suffix) => this.path(suffix), runId, this.host, this.clock)
  }

  /** One more read of the execution, for the wait keeps only its status. */
  async results(runId: string, deadline: number): Promise<RunResults> {
    const what = `read the task runs of execution ${runId}`
    const response = await this.getExecution(runId, what, deadline)
    if (response.status === 404) throw this.deleted(runId)
    return kestraResults(parseJson<unknown>(this.api.ok(response, what), what))
  }

  runUrl(executionId: string): string {
    const tenant = this.inputs.tenant === undefined ? '' : `/${encodeURIComponent(this.inputs.tenant)}`
    return `${this.inputs.uiUrl ?? this.inputs.url}/ui${tenant}/executions/${this.flowPath()}/${encodeURIComponent(executionId)}`
  }
}

function credentialHint(credentials: Credentials): string {
  switch (credentials.kind) {
    case 'none':
      return "The server needs credentials: set 'username' and 'password' (basic auth, mandatory on open-source servers since 0.24) or 'api-key' (an API token). Secrets are not passed to workflows run from forks."
    case 'bearer':
      return "Check 'api-key': it must be a valid API token of this server."
    case 'basic':
      return "Check 'username' and 'password': they must match the server's basic-auth user."
  }
}

function toStatus(execution: Execution): RunStatus {
  const { state } = execution
  const last = state.histories?.at(-1)
  // Kestra's startDate is when the execution was created: the run started when it first went RUNNING.
  const start = Date.parse(state.histories?.find((entry) => entry.state === 'RUNNING')?.date ?? '')
  const end = state.endDate ? Date.parse(state.endDate) : NaN
  return {
    state: state.current,
    // Kestra has no finer state names.
    stateName: state.current,
    phase: kestraPhase(state.current),
    since: last?.date,
    runSeconds: Number.isFinite(end - start) ? (end - start) / 1000 : undefined,
    outputs: execution.outputs ?? undefined
  }
}
