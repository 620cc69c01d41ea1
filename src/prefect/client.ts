import { errorMessage, FlowDispatchError, InputError } from '../errors.js'
import { Api, describeAuthorization } from '../api.js'
import type { HttpResponse } from '../http.js'
import type { Credentials } from '../common-inputs.js'
import type { Host } from '../host.js'
import type { JsonObject } from '../mapping.js'
import type { Context, Orchestrator, Run, RunStatus } from '../orchestrator.js'
import { deriveIdempotencyKey, type Origin, originLabels } from '../origin.js'
import type { PrefectInputs } from './inputs.js'
import { parseJson } from '../remote.js'
import { PrefectLogFollower } from './logs.js'
import { prefectStateEvents, type SocketTarget } from './events.js'
import { type Connection, NoStream } from '../feed.js'
import { type Clock, latestTime, realClock } from '../clock.js'
import type { RunResults } from '../results.js'
import { readPrefectResults } from './results.js'
import { missingRequired, parameterProblems } from './schema.js'
import { prefectPhase } from './states.js'
import {
  CREATE_FIELD_SINCE,
  hasLogStream,
  hasStateEvents,
  type PrefectVersion,
  type VersionedField,
  parsePrefectVersion,
  releaseText,
  takesField
} from './version.js'

/** The API version the current Prefect client sends; older servers accept it too. */
const API_VERSION = '0.8.4'
const PREFECT_CLOUD_API = 'https://api.prefect.cloud/api'
/** The version read is a nicety: it gets this long at most, then the server is taken as the newest. */
const VERSION_READ_MS = 10_000

/** The inputs that set a create field some releases lack: refused there rather than dropped. */
const INPUT_OF_FIELD: Record<VersionedField, string> = {
  labels: 'labels',
  job_variables: 'job-variables',
  work_queue_name: 'work-queue',
  enforce_parameter_schema: 'enforce-parameter-schema'
}

interface Deployment {
  id: string
  name: string
  flow_id: string
  enforce_parameter_schema?: boolean
  parameters?: JsonObject | null
  paused?: boolean
  status?: string | null
  work_pool_name?: string | null
  parameter_openapi_schema?: (JsonObject & { properties?: Record<string, unknown> }) | null
}

interface FlowRun {
  id: string
  name: string
  state_type?: string | null
  state_name?: string | null
  start_time?: string | null
  end_time?: string | null
  total_run_time?: number | null
  deployment_id?: string | null
  created?: string | null
  expected_start_time?: string | null
  state?: { type?: string; name?: string; timestamp?: string; message?: string | null } | null
}

export class PrefectClient implements Orchestrator {
  readonly product = 'Prefect'
  readonly notStartedHint =
    "no worker or serve process picked it up. Check that one is running and polling this deployment's work pool (or, for a served flow, that its serve process is up)."
  readonly target: string
  private readonly api: Api
  private deployment?: Deployment
  /** The server's release; undefined is the newest (Prefect Cloud, or a server that did not say). */
  private server?: PrefectVersion
  /** The server refused `labels` in a create, though its version was not known to lack them. */
  private labelsRefused = false

  private readonly host: Host
  private readonly origin: Origin
  private readonly clock?: Clock

  constructor(
    private readonly inputs: PrefectInputs,
    { host, origin, userAgent, clock }: Context
  ) {
    this.host = host
    this.origin = origin
    this.clock = clock
    const ref = inputs.deployment
    this.target = ref.kind === 'id' ? `deployment ${ref.id}` : `deployment '${ref.flow}/${ref.name}'`
    this.api = new Api({
      product: 'Prefect',
      server: inputs.url,
      credentials: inputs.credentials,
      userAgent,
      host,
      clock,
      headers: { 'x-prefect-api-version': API_VERSION },
      credentialHint
    })
  }

  async prepare(deadline?: number): Promise<void> {
    const ref = this.inputs.deployment
    const path =
      ref.kind === 'id' ? `/deployments/${ref.id}` : `/deployments/name/${encodeURIComponent(ref.flow)}/${encodeURIComponent(ref.name)}`
    // Nothing is created without it: like the create, it waits out a busy server for as long as the step may.
    const response = await this.call('GET', path, undefined, true, `look up ${this.target}`, deadline, true)
    if (!hasApiPath(this.inputs.url) && (response.status === 404 || !isJson(response, this.host))) await this.checkApiPath(deadline)
    if (response.status === 404) {
      throw new FlowDispatchError(
        'not-found',
        `${this.api.serverName} has no ${this.target}. ` +
          (ref.kind === 'name'
            ? "Check both names: it is 'flow-name/deployment-name', and a flow's default name is its function name with '_' turned into '-'."
            : 'Check the UUID, and that url points at the workspace that holds it.'),
        { status: 404 }
      )
    }
    const deployment = parseJson<Deployment>(this.ok(response, `look up ${this.target}`), `look up ${this.target}`)
    this.deployment = deployment
    this.server = await this.readVersion(deadline)
    this.host.info(`Prefect ${this.target}: id ${deployment.id}${this.server ? ` (server ${this.server.text})` : ''}`)
    // A run that exists was checked when it was made: nothing here would be sent.
    if (this.inputs.runId !== undefined) return
    this.checkFieldsTaken()
    this.checkParameters(deployment)
    if (this.inputs.workQueue && !deployment.work_pool_name) {
      throw new InputError('work-queue', `is set, but ${this.target} has no work pool (a served deployment takes no work queue)`)
    }
    if (deployment.paused) {
      // Pausing stops the scheduler only: workers and serve processes still pick up runs made through the API (seen on 3.8.8).
      this.host.info(`${this.target} is paused: Prefect makes no scheduled runs of it, but runs the one created here as usual.`)
    }
    if (deployment.status === 'NOT_READY') {
      this.host.warning(
        `${this.target} is NOT_READY: no worker or serve process has polled it lately, so the run may stay Scheduled and turn Late.`
      )
    }
  }

  /**
   * A self-hosted server serves its API under `/api`; a url without it
   * reaches the UI or nothing, and every deployment looks missing. Asked only
   * when the look-up failed, and only of a url whose path has no `/api`.
   */
  private async checkApiPath(deadline?: number): Promise<void> {
    const { url } = this.inputs
    const what = `check whether ${url}/api is the API`
    let response: HttpResponse
    try {
      response = await this.api.send(what, { method: 'GET', url: `${url}/api/health`, idempotent: true, deadline })
    } catch (error) {
      // Only a hint: the look-up's own failure is the one to report.
      this.host.debug(`Could not ${what}: ${errorMessage(error)}`)
      return
    }
    if (response.status === 200 && response.body.trim() === 'true') {
      throw new InputError(
        'url',
        `is ${url}, which is not the API of this Prefect server: a self-hosted server serves it under /api. Use ${url}/api.`
      )
    }
  }

  /**
   * The server's release, from `/admin/version` (2.x and 3.x alike; it needs
   * the same credentials as the rest of the API). Not asked of Prefect Cloud,
   * which is always the newest and which Prefect's own client does not ask
   * either. Any failure leaves it unknown: taken as the newest, as before.
   */
  private async readVersion(deadline?: number): Promise<PrefectVersion | undefined> {
    if (this.inputs.url.startsWith(PREFECT_CLOUD_API)) return undefined
    const what = 'read the version of the Prefect server'
    const limit = Math.min(deadline ?? Number.POSITIVE_INFINITY, (this.clock ?? realClock).now() + VERSION_READ_MS)
    try {
      const response = await this.api.send(what, {
        method: 'GET',
        url: `${this.inputs.url}/admin/version`,
        idempotent: true,
        deadline: limit
      })
      if (response.status !== 200) {
        this.host.debug(`Could not ${what}: HTTP ${response.status}; taking it as the newest`)
        return undefined
      }
      const version = parsePrefectVersion(JSON.parse(response.body))
      if (!version) this.host.debug(`Could not ${what}: the answer is not a version; taking it as the newest`)
      return version
    } catch (error) {
      this.host.debug(`Could not ${what}: ${errorMessage(error)}; taking it as the newest`)
      return undefined
    }
  }

  /** A field set by an input that this server's create request lacks: dropped, it would be lost silently. */
  private checkFieldsTaken(): void {
    const { labels, jobVariables, workQueue, enforceParameterSchema } = this.inputs
    const set: Record<VersionedField, boolean> = {
      labels: Object.keys(labels).length > 0,
      job_variables: jobVariables !== undefined,
      work_queue_name: Boolean(workQueue),
      enforce_parameter_schema: enforceParameterSchema !== undefined
    }
    for (const field of Object.keys(INPUT_OF_FIELD) as VersionedField[]) {
      if (set[field] && !this.takes(field)) throw this.notTaken(field)
    }
  }

  private takes(field: VersionedField): boolean {
    return !(field === 'labels' && this.labelsRefused) && takesField(this.server, field)
  }

  private notTaken(field: VersionedField): InputError {
    const server = this.server ? `Prefect ${this.server.text}` : 'this Prefect server'
    const hint = field === 'labels' ? ' Use tags instead, or leave it empty.' : ''
    return new InputError(
      INPUT_OF_FIELD[field],
      `is set, but ${server} takes no '${field}' on a new flow run: that came in Prefect ${releaseText(CREATE_FIELD_SINCE[field])}. Nothing was created.${hint}`
    )
  }

  /** The server does not refuse unknown parameter names, so we do, as Prefect's own CLI does. */
  private checkParameters(deployment: Deployment): void {
    const given = Object.keys(this.inputs.parameters ?? {})
    const properties = deployment.parameter_openapi_schema?.properties
    if (given.length === 0 || !properties) return
    const known = Object.keys(properties)
    const unknown = given.filter((name) => !known.includes(name))
    if (unknown.length > 0) {
      throw new InputError(
        'parameters',
        `names ${unknown.map((n) => `'${n}'`).join(', ')}, which ${this.target} does not take; ` +
          (known.length > 0 ? `it takes: ${known.join(', ')}` : 'it takes no parameters')
      )
    }
  }

  /** The create request: its path and the body, idempotency key included. */
  private createRequest(): { path: string; body: JsonObject } {
    const deployment = this.deployment
    if (!deployment) throw new Error('prepare() must run before the create request is built')
    const body = this.createBody()
    // The key is unique per flow, not per deployment, so the derived one names the deployment.
    body.idempotency_key = this.inputs.idempotencyKey ?? deriveIdempotencyKey(this.origin, deployment.id, body)
    return { path: `/deployments/${encodeURIComponent(deployment.id)}/create_flow_run`, body }
  }

  async dryRun(): Promise<string[]> {
    const { path, body } = this.createRequest()
    const deployment = this.deployment as Deployment
    const schema = deployment.parameter_openapi_schema
    const enforced = this.inputs.enforceParameterSchema ?? deployment.enforce_parameter_schema ?? true
    if (schema) {
      const problems = [
        ...parameterProblems(this.inputs.parameters ?? {}, schema),
        ...missingRequired(this.inputs.parameters ?? {}, deployment.parameters ?? {}, schema).map(
          (name) => `'${name}' is required and has no default`
        )
      ]
      if (problems.length > 0 && enforced)
        throw new InputError('parameters', `does not fit the parameter schema of ${this.target}: ${problems.join('; ')}`)
      for (const problem of problems)
        this.host.warning(`${problem}; ${this.target} does not enforce its parameter schema, so Prefect would accept it`)
    }
    return [`POST ${this.inputs.url}${path}`, describeAuthorization(this.inputs.credentials), JSON.stringify(body, null, 2)]
  }

  async trigger(deadline?: number): Promise<Run> {
    const { path, body } = this.createRequest()
    this.host.debug(`Idempotency key: ${body.idempotency_key}`)
    const what = `create a flow run of ${this.target}`
    // The key makes a repeat return the run the first made: safe to go on through a busy server until the step's timeout.
    let response = await this.call('POST', path, body, true, what, deadline, true)
    // A server older than labels whose version we could not read: it refused the request whole, so nothing was made.
    if (response.status === 422 && body.labels !== undefined && refusedField(response.body, 'labels', this.host)) {
      this.labelsRefused = true
      if (Object.keys(this.inputs.labels).length > 0) throw this.notTaken('labels')
      this.host.info(`${this.api.serverName} does not take labels on a flow run (Prefect before 3.1.11): sending the request without them`)
      const again = this.createRequest()
      this.host.debug(`Idempotency key: ${again.body.idempotency_key}`)
      response = await this.call('POST', again.path, again.body, true, what, deadline, true)
    }
    const flowRun = parseJson<FlowRun>(this.ok(response, what), what)
    return {
      id: flowRun.id,
      name: flowRun.name,
      url: this.runUrl(flowRun.id),
      // 201 is a new run; 200 means the key matched a run an earlier identical request created.
      made: response.status === 201 ? 'created' : 'found',
      status: toStatus(flowRun)
    }
  }

  async attach(runId: string, deadline?: number): Promise<Run> {
    const deployment = this.deployment
    if (!deployment) throw new Error('prepare() must run before a run is attached')
    const what = `read flow run ${runId}`
    const response = await this.call('GET', `/flow_runs/${encodeURIComponent(runId)}`, undefined, true, what, deadline, true)
    if (response.status === 404) {
      throw new FlowDispatchError(
        'not-found',
        `${this.api.serverName} has no flow run ${runId}: check ${this.host.inputLabel('run-id')}, and that url points at the workspace that holds it.`,
        { status: 404 }
      )
    }
    const flowRun = parseJson<FlowRun>(this.ok(response, what), what)
    // Following another deployment's run would gate this step on the wrong pipeline.
    if (flowRun.deployment_id !== deployment.id) {
      const owner = flowRun.deployment_id ? `deployment ${flowRun.deployment_id}` : 'no deployment (it was run without one)'
      throw new FlowDispatchError(
        'refused',
        `Flow run ${runId} is not a run of ${this.target} (id ${deployment.id}): it belongs to ${owner}. Check ${this.host.inputLabel('run-id')} and ${this.host.inputLabel('deployment')}.`
      )
    }
    return {
      id: flowRun.id,
      name: flowRun.name,
      url: this.runUrl(flowRun.id),
      made: 'attached',
      status: toStatus(flowRun),
      due: latestTime(flowRun.created, flowRun.expected_start_time)
    }
  }

  private createBody(): JsonObject {
    const inputs = this.inputs
    const { ci, repository } = this.origin
    const tags = [...new Set([...(ci && repository ? [`${ci}:${repository}`] : []), ...inputs.tags])]
    // Where the server has no labels, the origin is in the tags alone; labels the user set were refused in prepare().
    const labels = this.takes('labels') ? { ...originLabels(this.origin), ...inputs.labels } : {}
    // Only fields that are set: the server refuses unknown ones and fills in the rest itself.
    return {
      ...inputs.extraBody,
      ...(inputs.parameters && { parameters: inputs.parameters }),
      ...(inputs.runName && { name: inputs.runName }),
      ...(tags.length > 0 && { tags }),
      ...(Object.keys(labels).length > 0 && { labels }),
      ...(inputs.jobVariables && { job_variables: inputs.jobVariables }),
      ...(inputs.workQueue && { work_queue_name: inputs.workQueue }),
      ...(inputs.scheduledTime && {
        state: { type: 'SCHEDULED', name: 'Scheduled', state_details: { scheduled_time: inputs.scheduledTime } }
      }),
      ...(inputs.enforceParameterSchema !== undefined && { enforce_parameter_schema: inputs.enforceParameterSchema })
    }
  }

  async read(runId: string, deadline?: number): Promise<RunStatus> {
    const what = `read flow run ${runId}`
    const response = await this.call('GET', `/flow_runs/${encodeURIComponent(runId)}`, undefined, true, what, deadline)
    if (response.status === 404)
      throw new FlowDispatchError('not-found', `${this.api.serverName} has no flow run ${runId}: it was deleted`, { status: 404 })
    return toStatus(parseJson<FlowRun>(this.ok(response, what), what))
  }

  /**
   * CANCELLING, not CANCELLED: that is what makes the worker or serve process
   * stop the infrastructure. The answer is an orchestration result, not an
   * HTTP error, even when the transition is refused.
   */
  async cancel(runId: string, reason: string, deadline: number): Promise<RunStatus> {
    const what = `cancel flow run ${runId}`
    const body = { state: { type: 'CANCELLING', name: 'Cancelling', message: reason }, force: false }
    const response = await this.call('POST', `/flow_runs/${encodeURIComponent(runId)}/set_state`, body, true, what, deadline)
    const result = parseJson<{ status?: string; state?: { type?: string } | null; details?: { reason?: string } }>(
      this.ok(response, what),
      what
    )
    const why = result.details?.reason ? `: ${result.details.reason}` : ''
    switch (result.status) {
      case 'ACCEPT':
        this.host.info(`Prefect accepted the cancellation of flow run ${runId}; its worker or serve process stops it now`)
        break
      // A run no process has picked up goes straight to CANCELLED, by a REJECT of CANCELLING.
      case 'REJECT':
      case 'ABORT':
      case 'WAIT':
        this.host.info(
          `Prefect answered ${result.status} to the cancellation of flow run ${runId} (state ${result.state?.type ?? 'unchanged'})${why}`
        )
        break
      default:
        this.host.info(`Prefect answered '${String(result.status)}' to the cancellation of flow run ${runId}${why}`)
    }
    return this.read(runId, deadline)
  }

  logs(runId: string): PrefectLogFollower {
    // No socket where the server has no log stream: the log is read each poll, as with the stream off.
    const target = hasLogStream(this.server) ? this.socketTarget() : undefined
    return new PrefectLogFollower(this.api, this.inputs.url, runId, { target, host: this.host, clock: this.clock })
  }

  stateStream(run: Run): Connection<RunStatus> {
    const server = this.server
    if (server && !hasStateEvents(server)) {
      // Its socket would open and stay silent, and the wait would trust it and read the run only every 30 s.
      return {
        name: `the event stream of flow run ${run.id}`,
        open: () => Promise.reject(new NoStream(`Prefect ${server.text} sends no flow-run state events by default`))
      }
    }
    return prefectStateEvents(this.socketTarget(), run.id, run.status.since)
  }

  private socketTarget(): SocketTarget {
    return { apiUrl: this.inputs.url, credentials: this.inputs.credentials, headers: this.api.headers }
  }

  /** Throws a FlowDispatchError when either read fails: the run is over by then, so the engine only warns. */
  results(runId: string, deadline: number): Promise<RunResults> {
    return readPrefectResults(this.api, this.inputs.url, runId, deadline, (text) => this.host.warning(text))
  }

  runUrl(runId: string): string {
    return `${this.uiBase()}/runs/flow-run/${runId}`
  }

  /** Where Prefect's own client puts the UI when PREFECT_UI_URL is unset. */
  private uiBase(): string {
    if (this.inputs.uiUrl) return this.inputs.uiUrl
    let base = this.inputs.url
    if (base.startsWith(PREFECT_CLOUD_API)) base = `https://app.prefect.cloud${base.slice(PREFECT_CLOUD_API.length)}`
    return base
      .replace(/\/api$/, '')
      .replace('/api/', '/')
      .replace('/accounts/', '/account/')
      .replace('/workspaces/', '/workspace/')
  }

  private call(
    method: 'GET' | 'POST',
    path: string,
    json: unknown,
    idempotent: boolean,
    what: string,
    deadline?: number,
    untilDeadline = false
  ): Promise<HttpResponse> {
    return this.api.send(what, { method, url: `${this.inputs.url}${path}`, json, idempotent, deadline, untilDeadline })
  }

  private ok(response: HttpResponse, what: string): HttpResponse {
    return this.api.ok(response, what)
  }
}

function credentialHint(credentials: Credentials): string {
  switch (credentials.kind) {
    case 'none':
      return "The server needs credentials: set 'api-key' (Prefect Cloud) or 'username' and 'password' (a self-hosted server's basic auth). Secrets are not passed to workflows run from forks."
    case 'bearer':
      return "Check 'api-key': it must be a valid key for this account and workspace."
    case 'basic':
      return "Check 'username' and 'password': they must match the server's PREFECT_SERVER_API_AUTH_STRING."
  }
}

/** Prefect Cloud's workspace URLs and a self-hosted server's API URL both have it. */
function hasApiPath(url: string): boolean {
  return /\/api(\/|$)/.test(new URL(url).pathname)
}

/**
 * Whether a 422 is the server's model refusing that field as unknown: Prefect
 * answers `exception_detail`, pydantic's errors, e.g. `{loc: ['body', 'labels'],
 * type: 'value_error.extra'}` (pydantic 1, Prefect 2) or `extra_forbidden` (2).
 */
function refusedField(body: string, field: string, host: Host): boolean {
  let answer: unknown
  try {
    answer = JSON.parse(body)
  } catch (error) {
    host.debug(`The 422 is not JSON: ${errorMessage(error)}`)
    return false
  }
  const detail = (answer as { exception_detail?: unknown } | null)?.exception_detail
  if (!Array.isArray(detail)) return false
  return detail.some((item: { loc?: unknown; type?: unknown } | null) => {
    const loc = Array.isArray(item?.loc) ? item.loc : []
    return loc[loc.length - 1] === field && typeof item?.type === 'string' && item.type.includes('extra')
  })
}

function isJson(response: HttpResponse, host: Host): boolean {
  try {
    JSON.parse(response.body)
    return true
  } catch (error) {
    host.debug(`The answer is not JSON: ${errorMessage(error)}`)
    return false
  }
}

function toStatus(run: FlowRun): RunStatus {
  const state = run.state_type ?? run.state?.type ?? 'UNKNOWN'
  const start = run.start_time ? Date.parse(run.start_time) : NaN
  const end = run.end_time ? Date.parse(run.end_time) : NaN
  return {
    state,
    stateName: run.state_name ?? run.state?.name ?? state,
    phase: prefectPhase(state),
    since: run.state?.timestamp,
    message: run.state?.message || undefined,
    runSeconds: Number.isFinite(end - start) ? (end - start) / 1000 : undefined
  }
}
