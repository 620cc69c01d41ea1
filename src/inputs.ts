import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseDuration } from './duration.js'
import { InputError } from './errors.js'
import { type JsonObject, parseKeyValueLines, parseList, parseMapping } from './mapping.js'
import { KESTRA_DEFAULT_FAIL_ON, KESTRA_TERMINAL_STATES } from './kestra/states.js'
import { PREFECT_DEFAULT_FAIL_ON, PREFECT_TERMINAL_STATES } from './prefect/states.js'
import { host } from './host.js'

export type Credentials = { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string }

export type DeploymentRef = { kind: 'id'; id: string } | { kind: 'name'; flow: string; name: string }

export interface WaitSettings {
  wait: boolean
  timeoutSeconds: number
  /** The longest pause between two state reads; the loop starts faster. */
  pollIntervalSeconds: number
  /** Terminal state types that fail the step. */
  failOn: ReadonlySet<string>
  /** When to cancel the remote run: when the wait times out, when the GitHub job is cancelled. */
  cancelOn: { timeout: boolean; jobCancel: boolean }
  /** Print the run's log lines while waiting. */
  logs: boolean
  /** Write the job summary. */
  summary: boolean
}

interface CommonInputs {
  /** Base URL without a trailing slash: Prefect's API URL, or the Kestra server's. */
  url: string
  /** UI base URL when the UI is not where the URL implies. */
  uiUrl?: string
  credentials: Credentials
  /** Undefined when the input is empty, so the remote defaults apply untouched. */
  parameters?: JsonObject
  labels: Record<string, string>
  /** ISO 8601 in UTC. */
  scheduledTime?: string
  idempotencyKey?: string
  /** Check and describe the request; create nothing. */
  dryRun: boolean
  waiting: WaitSettings
}

export interface PrefectInputs extends CommonInputs {
  orchestrator: 'prefect'
  deployment: DeploymentRef
  runName?: string
  tags: string[]
  jobVariables?: JsonObject
  workQueue?: string
  enforceParameterSchema?: boolean
  /** Create-request fields that have no input of their own. */
  extraBody: JsonObject
}

export interface FileInput {
  /** The flow input the file is for. */
  input: string
  /** Absolute path, checked to be a readable file. */
  path: string
}

export interface KestraInputs extends CommonInputs {
  orchestrator: 'kestra'
  /** Undefined for servers from before tenants were part of API paths (`tenant: none`). */
  tenant?: string
  namespace: string
  flow: string
  files: FileInput[]
  revision?: number
}

export type Inputs = PrefectInputs | KestraInputs

/** Inputs that mean something to one orchestrator only; given to the other, they are refused, not ignored. */
const ONLY_FOR: Record<string, Inputs['orchestrator']> = {
  deployment: 'prefect',
  'run-name': 'prefect',
  tags: 'prefect',
  'job-variables': 'prefect',
  'work-queue': 'prefect',
  'enforce-parameter-schema': 'prefect',
  'extra-body': 'prefect',
  tenant: 'kestra',
  namespace: 'kestra',
  flow: 'kestra',
  files: 'kestra',
  revision: 'kestra'
}

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

const masked = new Set<string>()

/** Masks a secret in the runner's log, and remembers it so the summary can redact it too. */
export function mask(secret: string): void {
  if (secret === '') return
  host.setSecret(secret)
  masked.add(secret)
}

/** Every secret masked so far, and later: a client masks values it learns are secret (a Kestra SECRET input). */
export function maskedSecrets(): ReadonlySet<string> {
  return masked
}

function input(name: string): string {
  return host.input(name)
}

/** Empty when unset, so a blank input falls back to the environment like an absent one. */
function inputOrEnv(name: string, envName: string): { value: string; from: string } {
  const value = input(name)
  if (value !== '') return { value, from: host.inputLabel(name) }
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
  maskUrlCredentials()
  const orchestrator = input('orchestrator').toLowerCase()
  switch (orchestrator) {
    case 'prefect':
    case 'kestra':
      for (const [name, only] of Object.entries(ONLY_FOR)) {
        if (only !== orchestrator && input(name) !== '') {
          throw new InputError(name, `is for ${only === 'prefect' ? 'Prefect' : 'Kestra'} only, and orchestrator is '${orchestrator}'`)
        }
      }
      return orchestrator === 'prefect' ? getPrefectInputs() : getKestraInputs()
    case '':
      throw new InputError('orchestrator', "is required: set it to 'prefect' or 'kestra'")
    default:
      throw new InputError('orchestrator', `must be 'prefect' or 'kestra'; got '${orchestrator}'`)
  }
}

function getPrefectInputs(): PrefectInputs {
  const credentials = getCredentials('prefect')
  const url = baseUrl('url', inputOrEnv('url', 'PREFECT_API_URL'), 'http://prefect.example.com:4200/api (or set PREFECT_API_URL)')
  if (new URL(url).hostname === 'app.prefect.cloud') {
    throw new InputError(
      'url',
      'points at the Prefect Cloud UI; use the API URL https://api.prefect.cloud/api/accounts/<account-id>/workspaces/<workspace-id>'
    )
  }
  const extraBody = parseMapping('extra-body', input('extra-body')) ?? {}
  for (const key of Object.keys(extraBody)) {
    if (key in PREFECT_FIELDS_BY_INPUT) {
      throw new InputError('extra-body', `sets '${key}'; use ${host.inputLabel(PREFECT_FIELDS_BY_INPUT[key])} instead`)
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
    ...commonInputs(url, credentials, PREFECT_TERMINAL_STATES, PREFECT_DEFAULT_FAIL_ON),
    deployment: deploymentRef(input('deployment')),
    runName: optional('run-name'),
    tags: parseList(input('tags')),
    jobVariables: parseMapping('job-variables', input('job-variables')),
    workQueue: optional('work-queue'),
    enforceParameterSchema: enforce === '' ? undefined : booleanInput('enforce-parameter-schema', true),
    extraBody
  }
}

function getKestraInputs(): KestraInputs {
  const credentials = getCredentials('kestra')
  const url = baseUrl('url', inputOrEnv('url', 'KESTRA_URL'), 'https://kestra.example.com (or set KESTRA_URL)')
  const tenant = inputOrEnv('tenant', 'KESTRA_TENANT').value || 'main'
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/.test(tenant)) {
    throw new InputError('tenant', `must be a tenant id such as 'main', or 'none' for servers older than 0.23; got '${tenant}'`)
  }
  const common = commonInputs(url, credentials, KESTRA_TERMINAL_STATES, KESTRA_DEFAULT_FAIL_ON)
  for (const [key, value] of Object.entries(common.labels)) {
    if (!/^\p{Ll}[\p{L}0-9._-]*$/u.test(key)) {
      throw new InputError(
        'labels',
        `has the key '${key}'; Kestra label keys start with a lower-case letter and hold only letters, digits, '.', '_' and '-'`
      )
    }
    if (key.startsWith('system.')) throw new InputError('labels', `has the key '${key}'; Kestra sets 'system.' labels itself`)
    if (value === '') throw new InputError('labels', `has an empty value for '${key}'; Kestra needs a value`)
  }
  const revision = input('revision')
  if (revision !== '' && !/^[1-9]\d*$/.test(revision))
    throw new InputError('revision', `must be a flow revision number (1, 2, ...); got '${revision}'`)
  return {
    orchestrator: 'kestra',
    ...common,
    tenant: /^none$/i.test(tenant) ? undefined : tenant,
    namespace: kestraName('namespace', /^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ., _ and -'),
    flow: kestraName('flow', /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, ., _ and -'),
    files: fileInputs(),
    revision: revision === '' ? undefined : Number(revision)
  }
}

function kestraName(name: string, pattern: RegExp, allowed: string): string {
  const value = input(name)
  if (value === '') throw new InputError(name, 'is required with orchestrator kestra')
  if (!pattern.test(value)) throw new InputError(name, `may hold only ${allowed}; got '${value}'`)
  return value
}

/** `input=path` lines; each path must be a file now, so nothing is created when one is missing. */
function fileInputs(): FileInput[] {
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd()
  return Object.entries(parseKeyValueLines('files', input('files'))).map(([name, path]) => {
    const absolute = resolve(workspace, path)
    if (path === '' || !existsSync(absolute) || !statSync(absolute).isFile()) {
      throw new InputError('files', `gives '${path}' for the input '${name}', which is not a file (looked for ${absolute})`)
    }
    return { input: name, path: absolute }
  })
}

function commonInputs(url: string, credentials: Credentials, terminal: readonly string[], defaultFailOn: readonly string[]): CommonInputs {
  const uiUrl = input('ui-url')
  return {
    url,
    uiUrl: uiUrl === '' ? undefined : baseUrl('ui-url', { value: uiUrl, from: host.inputLabel('ui-url') }, ''),
    credentials,
    parameters: parseMapping('parameters', input('parameters')),
    labels: parseKeyValueLines('labels', input('labels')),
    scheduledTime: scheduledTime(input('scheduled-time')),
    idempotencyKey: optional('idempotency-key'),
    dryRun: booleanInput('dry-run', false),
    waiting: waitSettings(terminal, defaultFailOn)
  }
}

/** The credential inputs alone, with each orchestrator's environment fallbacks: also all the post step reads. */
export function getCredentials(orchestrator: Inputs['orchestrator']): Credentials {
  switch (orchestrator) {
    case 'prefect':
      return readCredentials('PREFECT_API_KEY', () => {
        const auth = (process.env.PREFECT_API_AUTH_STRING ?? '').trim()
        if (auth === '') return undefined
        mask(auth)
        const colon = auth.indexOf(':')
        if (colon < 0) throw new InputError('username', "is empty and PREFECT_API_AUTH_STRING is not in the form 'user:password'")
        return { username: auth.slice(0, colon), password: auth.slice(colon + 1), source: 'PREFECT_API_AUTH_STRING' }
      })
    case 'kestra':
      return readCredentials('KESTRA_API_TOKEN', () => {
        const username = (process.env.KESTRA_USERNAME ?? '').trim()
        const password = (process.env.KESTRA_PASSWORD ?? '').trim()
        mask(password)
        return username || password ? { username, password, source: 'KESTRA_USERNAME and KESTRA_PASSWORD' } : undefined
      })
  }
}

type BasicFromEnv = { username: string; password: string; source: string } | undefined

/**
 * `api-key` (Bearer) or `username` + `password` (Basic), never both; when the
 * inputs are empty, the orchestrator's own environment variables.
 */
function readCredentials(envKeyName: string, basicFromEnv: () => BasicFromEnv): Credentials {
  const apiKey = input('api-key')
  const username = input('username')
  const password = input('password')
  // Mask first: nothing below may print a secret, not even in an error.
  mask(apiKey)
  mask(password)
  if (apiKey && (username || password)) {
    throw new InputError('api-key', "and 'username'/'password' are both set; give one: an API key (Bearer) or basic auth")
  }
  if (apiKey) return { kind: 'bearer', token: apiKey }
  if (username || password) return basic(username, password, "'username' and 'password'")

  const envKey = (process.env[envKeyName] ?? '').trim()
  mask(envKey)
  const envBasic = basicFromEnv()
  if (envKey && envBasic) {
    throw new InputError(
      'api-key',
      `is empty and both ${envKeyName} and ${envBasic.source} are set in the environment; unset one, or set the inputs`
    )
  }
  if (envKey) return { kind: 'bearer', token: envKey }
  if (envBasic) return basic(envBasic.username, envBasic.password, envBasic.source)
  return { kind: 'none' }
}

function basic(username: string, password: string, source: string): Credentials {
  if (username === '') throw new InputError('username', `is empty but a password is set (from ${source}); give both`)
  if (password === '') throw new InputError('password', `is empty but a username is set (from ${source}); give both`)
  mask(password)
  mask(`${username}:${password}`)
  mask(Buffer.from(`${username}:${password}`).toString('base64'))
  return { kind: 'basic', username, password }
}

function baseUrl(name: string, { value, from }: { value: string; from: string }, example: string): string {
  if (value === '') throw new InputError(name, `is required: set it to the base URL, e.g. ${example}`)
  // Credentials in a URL come before an '@'; a base URL has no other use for one, so any '@' is refused unseen.
  const shown = hideUserinfo(value)
  if (shown !== value) {
    throw new InputError(
      name,
      `must not carry credentials (read from ${from}: '${shown}'); use 'username' and 'password', and write an '@' that belongs to the URL as %40`
    )
  }
  if (!URL.canParse(value)) {
    // A query may hold a token too (`?api_key=`): the value is shown up to it, which is enough to find the mistake.
    throw new InputError(name, `is not a URL (read from ${from}): '${value.replace(/[?#].*$/s, '?…')}'`)
  }
  const parsed = new URL(value)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InputError(name, `must be an http:// or https:// URL (read from ${from}); got '${parsed.protocol}'`)
  }
  if (parsed.search || parsed.hash) {
    throw new InputError(name, `must be a base URL without '?' or '#' (read from ${from})`)
  }
  return parsed.href.replace(/\/+$/, '')
}

/** Where a URL's authority starts: after the scheme and its slashes (the parser takes any number of either kind), or at the start. */
const SCHEME = /^[a-z][a-z0-9+.-]*:[/\\]*/i

/**
 * Masks what may be credentials in a URL, and returns the URL with `***` in
 * their place. A URL's userinfo is what comes before the last '@' of its
 * authority; but in a value that does not parse nobody knows where the
 * authority ends (a password may hold '/', '?', '#' or '@'), so all that
 * comes between the scheme and the last '@' of the whole value counts, in
 * every spelling that could be printed: as written, percent-decoded, and as
 * the URL parser would encode it.
 */
function hideUserinfo(url: string): string {
  const at = url.lastIndexOf('@')
  if (at < 0) return url
  const start = Math.min(SCHEME.exec(url)?.[0].length ?? 0, at)
  const userinfo = url.slice(start, at)
  const colon = userinfo.indexOf(':')
  const password = colon < 0 ? undefined : userinfo.slice(colon + 1)
  const encoded = new URL('http://host')
  encoded.username = colon < 0 ? userinfo : userinfo.slice(0, colon)
  if (password !== undefined) encoded.password = password
  for (const secret of [userinfo, password, encoded.password, encoded.username + (password === undefined ? '' : `:${encoded.password}`)]) {
    if (secret === undefined) continue
    mask(secret)
    mask(percentDecoded(secret))
  }
  return `${url.slice(0, start)}***${url.slice(at)}`
}

function percentDecoded(text: string): string {
  try {
    return decodeURIComponent(text)
  } catch (error) {
    // A '%' not followed by two hex digits: the text cannot be decoded, so it has no other spelling.
    if (error instanceof URIError) return text
    throw error
  }
}

/** Every URL this step may read, masked before any check can fail and print one. */
function maskUrlCredentials(): void {
  for (const value of [input('url'), input('ui-url'), process.env.PREFECT_API_URL, process.env.KESTRA_URL])
    hideUserinfo((value ?? '').trim())
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

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|([+-])(\d{2}):?(\d{2}))$/i
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

/**
 * The time as written, checked field by field before any conversion: a date
 * parser moves 31 February to 3 March and 24:00 to the next day, which would
 * schedule the run on a day nobody asked for.
 */
function scheduledTime(raw: string): string | undefined {
  if (raw === '') return undefined
  const refuse = (problem: string): never => {
    throw new InputError(
      'scheduled-time',
      `${problem}; give an ISO 8601 date and time with a time zone, e.g. 2026-11-22T18:00:00Z; got '${raw}'`
    )
  }
  const match = ISO_DATE_TIME.exec(raw)
  if (!match) return refuse('must be an ISO 8601 date and time with a time zone')
  const [, year, month, day, hour, minute, second = '00', fraction = '', sign, zoneHours = '00', zoneMinutes = '00'] = match
  const y = Number(year)
  const m = Number(month)
  if (m < 1 || m > 12) refuse(`has the month ${month}, and months run 01 to 12`)
  const days = m === 2 && isLeapYear(y) ? 29 : DAYS_IN_MONTH[m - 1]
  if (Number(day) < 1 || Number(day) > days) refuse(`has the day ${day}, and ${MONTHS[m - 1]} ${year} has ${days} days`)
  if (Number(hour) > 23) refuse(`has the hour ${hour}, and hours run 00 to 23`)
  if (Number(minute) > 59) refuse(`has the minute ${minute}, and minutes run 00 to 59`)
  if (Number(second) > 59) refuse(`has the second ${second}, and seconds run 00 to 59`)
  if (Number(zoneHours) > 23 || Number(zoneMinutes) > 59)
    refuse(`has the time zone offset ${sign}${zoneHours}:${zoneMinutes}, which is not one`)
  // Written out again in the one form every date parser reads the same way, now that each field is known to exist.
  const zone = sign === undefined ? 'Z' : `${sign}${zoneHours}:${zoneMinutes}`
  const time = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.slice(0, 3).padEnd(3, '0')}${zone}`)
  if (Number.isNaN(time)) return refuse('is outside the range of dates a run can be scheduled for')
  return new Date(time).toISOString()
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
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
  const cancelOn = (input('cancel-on') || 'both').toLowerCase()
  if (!['timeout', 'job-cancel', 'both', 'none'].includes(cancelOn)) {
    throw new InputError('cancel-on', `must be timeout, job-cancel, both or none; got '${input('cancel-on')}'`)
  }
  return {
    wait: booleanInput('wait', true),
    logs: booleanInput('logs', true),
    summary: booleanInput('summary', true),
    timeoutSeconds,
    pollIntervalSeconds,
    failOn: new Set(failOn),
    cancelOn: { timeout: cancelOn === 'timeout' || cancelOn === 'both', jobCancel: cancelOn === 'job-cancel' || cancelOn === 'both' }
  }
}
