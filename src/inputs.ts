import * as core from '@actions/core'
import { parseDuration } from './duration.js'
import { InputError } from './errors.js'
import { type JsonObject, parseKeyValueLines, parseList, parseMapping } from './mapping.js'
import { PREFECT_DEFAULT_FAIL_ON, PREFECT_TERMINAL_STATES } from './prefect/states.js'

export type Credentials =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  | { kind: 'basic'; username: string; password: string }

export type DeploymentRef = { kind: 'id'; id: string } | { kind: 'name'; flow: string; name: string }

export interface WaitSettings {
  wait: boolean
  timeoutSeconds: number
  /** The longest pause between two state reads; the loop starts faster. */
  pollIntervalSeconds: number
  /** Terminal state types that fail the step. */
  failOn: ReadonlySet<string>
}

export interface PrefectInputs {
  orchestrator: 'prefect'
  /** API base URL without a trailing slash. */
  url: string
  /** UI base URL when the UI is not where the API URL implies. */
  uiUrl?: string
  credentials: Credentials
  deployment: DeploymentRef
  /** Undefined when the input is empty, so the deployment's defaults apply untouched. */
  parameters?: JsonObject
  runName?: string
  tags: string[]
  labels: Record<string, string>
  jobVariables?: JsonObject
  workQueue?: string
  /** ISO 8601 in UTC. */
  scheduledTime?: string
  idempotencyKey?: string
  enforceParameterSchema?: boolean
  /** Create-request fields that have no input of their own. */
  extraBody: JsonObject
  waiting: WaitSettings
}

export type Inputs = PrefectInputs

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** DeploymentFlowRunCreate fields with no input of their own. */
const PREFECT_EXTRA_FIELDS = ['context', 'empirical_policy', 'parent_task_run_id', 'infrastructure_document_id']

/** DeploymentFlowRunCreate fields that an input sets, and which input. */
const PREFECT_FIELDS_BY_INPUT: Record<string, string> = {
  parameters: 'parameters',
  name: 'run-name',
  tags: 'tags',
  labels: 'labels',
  job_variables: 'job-variables',
  work_queue_name: 'work-queue',
  state: 'scheduled-time',
  idempotency_key: 'idempotency-key',
  enforce_parameter_schema: 'enforce-parameter-schema'
}

function input(name: string): string {
  return core.getInput(name)
}

/** Empty when unset, so a blank input falls back to the environment like an absent one. */
function inputOrEnv(name: string, envName: string): { value: string; from: string } {
  const value = input(name)
  if (value !== '') return { value, from: `input '${name}'` }
  return { value: (process.env[envName] ?? '').trim(), from: `environment variable ${envName}` }
}

function optional(name: string): string | undefined {
  const value = input(name)
  return value === '' ? undefined : value
}

function booleanInput(name: string, fallback: boolean): boolean {
  const raw = input(name)
  if (raw === '') return fallback
  if (/^true$/i.test(raw)) return true
  if (/^false$/i.test(raw)) return false
  throw new InputError(name, `must be true or false; got '${raw}'`)
}

/** Reads and checks every input once. Throws `InputError` before any request is made. */
export function getInputs(): Inputs {
  const orchestrator = input('orchestrator').toLowerCase()
  switch (orchestrator) {
    case 'prefect':
      return getPrefectInputs()
    case 'kestra':
      throw new InputError('orchestrator', `'kestra' is not supported by this version of flow-dispatch yet; use 'prefect'`)
    case '':
      throw new InputError('orchestrator', `is required: set it to 'prefect'`)
    default:
      throw new InputError('orchestrator', `must be 'prefect'; got '${orchestrator}'`)
  }
}

function getPrefectInputs(): PrefectInputs {
  const credentials = prefectCredentials()
  const url = baseUrl('url', inputOrEnv('url', 'PREFECT_API_URL'))
  if (new URL(url).hostname === 'app.prefect.cloud') {
    throw new InputError(
      'url',
      'points at the Prefect Cloud UI; use the API URL https://api.prefect.cloud/api/accounts/<account-id>/workspaces/<workspace-id>'
    )
  }
  const uiRaw = input('ui-url')
  const extraBody = parseMapping('extra-body', input('extra-body')) ?? {}
  for (const key of Object.keys(extraBody)) {
    if (key in PREFECT_FIELDS_BY_INPUT) {
      throw new InputError('extra-body', `sets '${key}'; use the input '${PREFECT_FIELDS_BY_INPUT[key]}' instead`)
    }
    if (!PREFECT_EXTRA_FIELDS.includes(key)) {
      throw new InputError(
        'extra-body',
        `sets '${key}', which is not a field of Prefect's create-flow-run request; allowed: ${PREFECT_EXTRA_FIELDS.join(', ')}`
      )
    }
  }
  const enforce = input('enforce-parameter-schema')
  return {
    orchestrator: 'prefect',
    url,
    uiUrl: uiRaw === '' ? undefined : baseUrl('ui-url', { value: uiRaw, from: "input 'ui-url'" }),
    credentials,
    deployment: deploymentRef(input('deployment')),
    parameters: parseMapping('parameters', input('parameters')),
    runName: optional('run-name'),
    tags: parseList(input('tags')),
    labels: parseKeyValueLines('labels', input('labels')),
    jobVariables: parseMapping('job-variables', input('job-variables')),
    workQueue: optional('work-queue'),
    scheduledTime: scheduledTime(input('scheduled-time')),
    idempotencyKey: optional('idempotency-key'),
    enforceParameterSchema: enforce === '' ? undefined : booleanInput('enforce-parameter-schema', true),
    extraBody,
    waiting: waitSettings(PREFECT_TERMINAL_STATES, PREFECT_DEFAULT_FAIL_ON)
  }
}

function prefectCredentials(): Credentials {
  const apiKey = input('api-key')
  const username = input('username')
  const password = input('password')
  // Mask first: nothing below may print a secret, not even in an error.
  for (const secret of [apiKey, password]) if (secret) core.setSecret(secret)
  if (apiKey && (username || password)) {
    throw new InputError('api-key', "and 'username'/'password' are both set; give one: an API key (Prefect Cloud) or basic auth (self-hosted)")
  }
  if (apiKey) return { kind: 'bearer', token: apiKey }
  if (username || password) return basic(username, password, "'username' and 'password'")

  const envKey = (process.env.PREFECT_API_KEY ?? '').trim()
  const envAuth = (process.env.PREFECT_API_AUTH_STRING ?? '').trim()
  for (const secret of [envKey, envAuth]) if (secret) core.setSecret(secret)
  if (envKey && envAuth) {
    throw new InputError(
      'api-key',
      'is empty and both PREFECT_API_KEY and PREFECT_API_AUTH_STRING are set in the environment; unset one, or set the inputs'
    )
  }
  if (envKey) return { kind: 'bearer', token: envKey }
  if (envAuth) {
    const colon = envAuth.indexOf(':')
    if (colon < 0) throw new InputError('username', "is empty and PREFECT_API_AUTH_STRING is not in the form 'user:password'")
    return basic(envAuth.slice(0, colon), envAuth.slice(colon + 1), 'PREFECT_API_AUTH_STRING')
  }
  return { kind: 'none' }
}

function basic(username: string, password: string, source: string): Credentials {
  if (username === '') throw new InputError('username', `is empty but a password is set (from ${source}); give both`)
  if (password === '') throw new InputError('password', `is empty but a username is set (from ${source}); give both`)
  if (password) core.setSecret(password)
  core.setSecret(`${username}:${password}`)
  core.setSecret(Buffer.from(`${username}:${password}`).toString('base64'))
  return { kind: 'basic', username, password }
}

function baseUrl(name: string, { value, from }: { value: string; from: string }): string {
  if (value === '') {
    throw new InputError(name, 'is required: set it to the API base URL, e.g. http://prefect.example.com:4200/api (or set PREFECT_API_URL)')
  }
  if (!URL.canParse(value)) throw new InputError(name, `is not a URL (read from ${from}): '${value}'`)
  const parsed = new URL(value)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError(name, `must be an http:// or https:// URL (read from ${from}); got '${parsed.protocol}'`)
  }
  if (parsed.username || parsed.password) {
    throw new InputError(name, "must not carry credentials; use 'username' and 'password'")
  }
  if (parsed.search || parsed.hash) {
    throw new InputError(name, `must be a base URL without '?' or '#' (read from ${from})`)
  }
  return parsed.href.replace(/\/+$/, '')
}

function deploymentRef(raw: string): DeploymentRef {
  if (raw === '') {
    throw new InputError('deployment', "is required: give the deployment's UUID or 'flow-name/deployment-name'")
  }
  if (UUID.test(raw)) return { kind: 'id', id: raw.toLowerCase() }
  const parts = raw.split('/')
  // Prefect names cannot contain '/', so exactly one slash separates flow and deployment.
  if (parts.length === 2 && parts[0].trim() !== '' && parts[1].trim() !== '') {
    return { kind: 'name', flow: parts[0], name: parts[1] }
  }
  if (parts.length === 1 && /^[0-9a-f-]+$/i.test(raw)) {
    throw new InputError('deployment', `'${raw}' is not a valid UUID (expected 8-4-4-4-12 hexadecimal digits)`)
  }
  throw new InputError('deployment', `must be a deployment UUID or 'flow-name/deployment-name'; got '${raw}'`)
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i

function scheduledTime(raw: string): string | undefined {
  if (raw === '') return undefined
  const time = ISO_DATE_TIME.test(raw) ? Date.parse(raw.replace(' ', 'T')) : NaN
  if (Number.isNaN(time)) {
    throw new InputError(
      'scheduled-time',
      `must be an ISO 8601 date and time with a time zone, e.g. 2026-11-22T18:00:00Z; got '${raw}'`
    )
  }
  return new Date(time).toISOString()
}

function waitSettings(terminal: readonly string[], defaultFailOn: readonly string[]): WaitSettings {
  const failOnRaw = input('fail-on')
  let failOn: string[]
  if (failOnRaw === '') failOn = [...defaultFailOn]
  else if (/^none$/i.test(failOnRaw)) failOn = []
  else failOn = parseList(failOnRaw).map((state) => state.toUpperCase())
  for (const state of failOn) {
    if (!terminal.includes(state)) {
      throw new InputError('fail-on', `names '${state}', which is not a terminal state; choose from ${terminal.join(', ')}, or 'none'`)
    }
  }
  const timeoutSeconds = parseDuration('timeout', input('timeout') || '60m')
  const pollIntervalSeconds = parseDuration('poll-interval', input('poll-interval') || '10s')
  if (pollIntervalSeconds < 1) {
    throw new InputError('poll-interval', `must be at least 1s; got '${input('poll-interval')}'`)
  }
  return { wait: booleanInput('wait', true), timeoutSeconds, pollIntervalSeconds, failOn: new Set(failOn) }
}
