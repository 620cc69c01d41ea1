import { parseDuration } from './duration.js'
import { InputError } from './errors.js'
import type { Host } from './host.js'
import { type JsonObject, parseKeyValueLines, parseList, parseMapping } from './mapping.js'
import type { OrchestratorModule } from './orchestrator.js'

/**
 * The inputs every orchestrator shares, read and checked once; each
 * orchestrator's own inputs are read in its folder (`prefect/inputs.ts`, ...).
 */

export type Credentials = { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'basic'; username: string; password: string }

export interface WaitSettings {
  wait: boolean
  timeoutSeconds: number
  /** The longest pause between two state reads; the loop starts faster. */
  pollIntervalSeconds: number
  /** How long the run may wait to be started, from its creation (or scheduled time); undefined: the whole timeout. */
  startTimeoutSeconds?: number
  /** Terminal state types that fail the step. */
  failOn: ReadonlySet<string>
  /** When to cancel the remote run: when the wait times out, when the GitHub job is cancelled. */
  cancelOn: { timeout: boolean; jobCancel: boolean }
  /** Print the run's log lines while waiting. */
  logs: boolean
  /** Write the job summary. */
  summary: boolean
}

export interface CommonInputs {
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
  /** `run-id`: follow this existing run instead of creating one. */
  runId?: string
  /** Check and describe the request; create nothing. */
  dryRun: boolean
  waiting: WaitSettings
}

/** Masks a secret in the log; the host remembers it, so the summary can redact it too. */
export function mask(host: Host, secret: string): void {
  if (secret !== '') host.setSecret(secret)
}

/** Empty when unset, so a blank input falls back to the environment like an absent one. */
export function inputOrEnv(host: Host, name: string, envName: string): { value: string; from: string } {
  const value = host.input(name)
  if (value !== '') return { value, from: host.inputLabel(name) }
  return { value: (process.env[envName] ?? '').trim(), from: `environment variable ${envName}` }
}

export function optional(host: Host, name: string): string | undefined {
  const value = host.input(name)
  return value === '' ? undefined : value
}

export function booleanInput(host: Host, name: string, fallback: boolean): boolean {
  const raw = host.input(name)
  if (raw === '') return fallback
  if (/^true$/i.test(raw)) return true
  if (/^false$/i.test(raw)) return false
  throw new InputError(name, `must be true or false; got '${raw}'`)
}

/**
 * Reads and checks the inputs every orchestrator shares, in the order a user
 * reads them: credentials, the URL, then the request and the wait.
 */
export function readCommonInputs(host: Host, module: OrchestratorModule<CommonInputs>): CommonInputs {
  const credentials = module.credentials(host)
  const url = baseUrl(host, 'url', inputOrEnv(host, 'url', module.url.env), module.url.example)
  const uiUrl = host.input('ui-url')
  const runId = attachedRun(host, module)
  return {
    url,
    uiUrl: uiUrl === '' ? undefined : baseUrl(host, 'ui-url', { value: uiUrl, from: host.inputLabel('ui-url') }, ''),
    credentials,
    parameters: parseMapping('parameters', host.input('parameters')),
    labels: parseKeyValueLines('labels', host.input('labels')),
    scheduledTime: scheduledTime(host.input('scheduled-time')),
    idempotencyKey: optional(host, 'idempotency-key'),
    runId,
    dryRun: booleanInput(host, 'dry-run', false),
    waiting: waitSettings(host, module.terminalStates, module.defaultFailOn, runId !== undefined)
  }
}

/** The inputs every orchestrator has that only shape a new run. */
const CREATION_INPUTS = ['parameters', 'labels', 'scheduled-time', 'idempotency-key']

/**
 * `run-id`, with nothing beside it that would shape a new run: such an input
 * would do nothing to a run that exists, and a user who set it expects it to.
 */
function attachedRun(host: Host, module: OrchestratorModule<CommonInputs>): string | undefined {
  const runId = optional(host, 'run-id')
  if (runId === undefined) return undefined
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/.test(runId)) {
    throw new InputError('run-id', `must be a run id (letters, digits, '-' and '_'); got '${runId.slice(0, 120)}'`)
  }
  for (const name of [...CREATION_INPUTS, ...module.creationInputs]) {
    if (host.input(name) !== '') {
      throw new InputError(
        name,
        `is set, and it only shapes a new run; with ${host.inputLabel('run-id')} the step follows a run that exists`
      )
    }
  }
  if (booleanInput(host, 'dry-run', false))
    throw new InputError('dry-run', `is true, and ${host.inputLabel('run-id')} names a run that exists: there is no request to check`)
  if (!booleanInput(host, 'wait', true))
    throw new InputError('wait', `is false, and ${host.inputLabel('run-id')} is set: following a run is waiting for it`)
  return runId
}

export type BasicFromEnv = { username: string; password: string; source: string } | undefined

/**
 * `api-key` (Bearer) or `username` + `password` (Basic), never both; when the
 * inputs are empty, the orchestrator's own environment variables.
 */
export function readCredentials(host: Host, envKeyName: string, basicFromEnv: () => BasicFromEnv): Credentials {
  const apiKey = host.input('api-key')
  const username = host.input('username')
  const password = host.input('password')
  // Mask first: nothing below may print a secret, not even in an error.
  mask(host, apiKey)
  mask(host, password)
  if (apiKey && (username || password)) {
    throw new InputError('api-key', "and 'username'/'password' are both set; give one: an API key (Bearer) or basic auth")
  }
  if (apiKey) return { kind: 'bearer', token: apiKey }
  if (username || password) return basic(host, username, password, "'username' and 'password'")

  const envKey = (process.env[envKeyName] ?? '').trim()
  mask(host, envKey)
  const envBasic = basicFromEnv()
  if (envKey && envBasic) {
    throw new InputError(
      'api-key',
      `is empty and both ${envKeyName} and ${envBasic.source} are set in the environment; unset one, or set the inputs`
    )
  }
  if (envKey) return { kind: 'bearer', token: envKey }
  if (envBasic) return basic(host, envBasic.username, envBasic.password, envBasic.source)
  return { kind: 'none' }
}

function basic(host: Host, username: string, password: string, source: string): Credentials {
  if (username === '') throw new InputError('username', `is empty but a password is set (from ${source}); give both`)
  if (password === '') throw new InputError('password', `is empty but a username is set (from ${source}); give both`)
  mask(host, password)
  mask(host, `${username}:${password}`)
  mask(host, Buffer.from(`${username}:${password}`).toString('base64'))
  return { kind: 'basic', username, password }
}

function baseUrl(host: Host, name: string, { value, from }: { value: string; from: string }, example: string): string {
  if (value === '') throw new InputError(name, `is required: set it to the base URL, e.g. ${example}`)
  // Credentials in a URL come before an '@'; a base URL has no other use for one, so any '@' is refused unseen.
  const shown = hideUserinfo(host, value)
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
function hideUserinfo(host: Host, url: string): string {
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
    mask(host, secret)
    mask(host, percentDecoded(secret))
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
export function maskUrlCredentials(host: Host, envNames: readonly string[]): void {
  for (const value of [host.input('url'), host.input('ui-url'), ...envNames.map((name) => process.env[name])])
    hideUserinfo(host, (value ?? '').trim())
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

function waitSettings(host: Host, terminal: readonly string[], defaultFailOn: readonly string[], attached: boolean): WaitSettings {
  const failOnRaw = host.input('fail-on')
  let failOn: string[]
  if (failOnRaw === '') failOn = [...defaultFailOn]
  else if (/^none$/i.test(failOnRaw)) failOn = []
  else failOn = parseList(failOnRaw).map((state) => state.toUpperCase())
  for (const state of failOn) {
    if (!terminal.includes(state)) {
      throw new InputError('fail-on', `names '${state}', which is not a terminal state; choose from ${terminal.join(', ')}, or 'none'`)
    }
  }
  const timeoutSeconds = parseDuration('timeout', host.input('timeout') || '60m')
  const pollIntervalSeconds = parseDuration('poll-interval', host.input('poll-interval') || '10s')
  if (pollIntervalSeconds < 1) {
    throw new InputError('poll-interval', `must be at least 1s; got '${host.input('poll-interval')}'`)
  }
  const startTimeout = host.input('start-timeout') || '15m'
  const startTimeoutSeconds = /^none$/i.test(startTimeout) ? undefined : parseDuration('start-timeout', startTimeout)
  // A run this step did not start may be wanted by whoever did: it is cancelled only when asked.
  const cancelOn = (host.input('cancel-on') || (attached ? 'none' : 'both')).toLowerCase()
  if (!['timeout', 'job-cancel', 'both', 'none'].includes(cancelOn)) {
    throw new InputError('cancel-on', `must be timeout, job-cancel, both or none; got '${host.input('cancel-on')}'`)
  }
  return {
    wait: booleanInput(host, 'wait', true),
    logs: booleanInput(host, 'logs', true),
    summary: booleanInput(host, 'summary', true),
    timeoutSeconds,
    pollIntervalSeconds,
    startTimeoutSeconds,
    failOn: new Set(failOn),
    cancelOn: { timeout: cancelOn === 'timeout' || cancelOn === 'both', jobCancel: cancelOn === 'job-cancel' || cancelOn === 'both' }
  }
}

/** The inputs of a client that only reads and cancels a run: the post step's. */
export function emptyRequest(url: string, credentials: Credentials): CommonInputs {
  return {
    url,
    credentials,
    labels: {},
    dryRun: false,
    waiting: {
      wait: true,
      timeoutSeconds: 0,
      pollIntervalSeconds: 1,
      failOn: new Set(),
      cancelOn: { timeout: false, jobCancel: true },
      logs: false,
      summary: false
    }
  }
}

/** The inputs every orchestrator shares but `orchestrator`, and their kind (for the CLI's options). */
export const COMMON_INPUTS: Readonly<Record<string, 'string' | 'boolean'>> = {
  url: 'string',
  'api-key': 'string',
  username: 'string',
  password: 'string',
  parameters: 'string',
  labels: 'string',
  'scheduled-time': 'string',
  'idempotency-key': 'string',
  'run-id': 'string',
  'dry-run': 'boolean',
  'ui-url': 'string',
  wait: 'boolean',
  timeout: 'string',
  'start-timeout': 'string',
  'poll-interval': 'string',
  'cancel-on': 'string',
  'fail-on': 'string',
  logs: 'boolean',
  summary: 'boolean'
}
