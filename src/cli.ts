import { parseArgs } from 'node:util'
import { stringify } from 'yaml'
import { COMMON_INPUTS } from './common-inputs.js'
import { describeError, type ErrorKind, FlowDispatchError, InputError } from './errors.js'
import { guardCommands, type Host, stepSummary } from './host.js'
import { run, type RunResult } from './main.js'
import { parseYamlValue } from './mapping.js'
import { ORCHESTRATORS } from './orchestrators.js'
import { answer } from './usage.js'

/**
 * The engine as a command for other CI systems: the action's inputs become
 * options of the same names, its outputs a JSON object, its failures exit
 * codes. Nothing else differs from the action: the same `run()` does the work.
 */

/** Every input of action.yml but `orchestrator`, which is the command, by kind: the common ones, then each orchestrator's. */
const ALL_INPUTS = Object.entries(
  Object.assign({}, COMMON_INPUTS, ...ORCHESTRATORS.map((module) => module.inputs)) as Record<string, string>
)
export const STRING_OPTIONS = ALL_INPUTS.filter(([, kind]) => kind === 'string').map(([name]) => name)
export const BOOLEAN_OPTIONS = ALL_INPUTS.filter(([, kind]) => kind === 'boolean').map(([name]) => name)
/** Options given once per item, gathered into the input named second. */
const REPEATED: Record<string, string> = Object.assign(
  { param: 'parameters', label: 'labels' },
  ...ORCHESTRATORS.map((module) => module.items)
)

export const EXIT = { success: 0, failed: 1, badInput: 2, timedOut: 3, unreachable: 4 } as const

export interface CommandLine {
  orchestrator: string
  values: Map<string, string>
  json: boolean
  verbose: boolean
}

/** Reads the command line; throws an error naming the option that is wrong. */
export function parseCommandLine(argv: string[]): CommandLine | 'help' | 'version' {
  const { values, positionals } = readOptions(argv)
  if (values.help) return 'help'
  if (values.version) return 'version'
  const [orchestrator, ...extra] = positionals
  if (orchestrator === undefined)
    throw new Error("Name the orchestrator first: 'flow-dispatch prefect ...' or 'flow-dispatch kestra ...'. See --help.")
  if (extra.length > 0) throw new Error(`'${extra.join(' ')}' after the orchestrator is not an option. See --help.`)
  const inputs = new Map<string, string>([['orchestrator', orchestrator]])
  for (const name of STRING_OPTIONS) if (typeof values[name] === 'string') inputs.set(name, values[name])
  for (const name of BOOLEAN_OPTIONS) {
    if (values[name] && values[`no-${name}`]) throw new InputError(name, `is given as both --${name} and --no-${name}`)
    if (values[name]) inputs.set(name, 'true')
    if (values[`no-${name}`]) inputs.set(name, 'false')
  }
  for (const [option, input] of Object.entries(REPEATED)) {
    const items = values[option] as string[] | undefined
    if (!items) continue
    if (inputs.has(input)) throw new InputError(input, `is given both whole (--${input}) and item by item (--${option}): use one`)
    inputs.set(input, input === 'parameters' ? parametersOf(items) : items.join('\n'))
  }
  return { orchestrator, values: inputs, json: values.json === true, verbose: values.verbose === true }
}

function readOptions(argv: string[]) {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    json: { type: 'boolean' },
    verbose: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' }
  }
  for (const name of STRING_OPTIONS) options[name] = { type: 'string' }
  for (const name of BOOLEAN_OPTIONS) options[name] = options[`no-${name}`] = { type: 'boolean' }
  for (const name of Object.keys(REPEATED)) options[name] = { type: 'string', multiple: true }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (error) {
    throw new Error(`${describeError(error)}. See --help.`)
  }
}

/** `--param a=1 --param b=x` as the YAML mapping the `parameters` input takes, each value read as YAML. */
function parametersOf(items: string[]): string {
  const mapping: Record<string, unknown> = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    if (eq <= 0) throw new InputError('param', `must be name=value; got '${item}'`)
    const name = item.slice(0, eq)
    if (name in mapping) throw new InputError('param', `names '${name}' twice`)
    // The same YAML rules as the parameters input, tags included: a value is refused here, never changed.
    mapping[name] = parseYamlValue('param', name, item.slice(eq + 1))
  }
  return stringify(mapping)
}

/**
 * Escape sequences whole (CSI such as colours and `\x1b[0K`, OSC such as titles
 * and links), then every other control character but tab and newline, C1
 * included (U+009B is a CSI of its own to many terminals).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
const CONTROL = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)|[\x00-\x08\x0b-\x1f\x7f-\x9f]/g

/** Text as a terminal or a CI log shows it literally: it cannot move the cursor, recolour, or open a GitLab section. */
function plainText(text: string): string {
  return text.replace(CONTROL, '')
}

/**
 * A terminal: plain lines, every secret replaced by `***`, and, when it runs
 * inside a GitHub Actions step after all, the same guard against workflow
 * commands as the action. Every line goes through the same cleaning, whatever
 * method wrote it: an error message quotes a server's body, a group names a
 * run, and the callers need not know which text came from the orchestrator.
 */
export class TerminalHost implements Host {
  readonly outputs: Record<string, string> = {}
  /** The message of the last error, for the result document of --json. */
  failure: string | undefined
  private readonly masked: string[] = []
  private group: { id: string } | undefined
  private readonly values: Map<string, string>
  private readonly write: (text: string) => void
  private readonly verbose: boolean
  private readonly env: NodeJS.ProcessEnv

  constructor(values: Map<string, string>, write: (text: string) => void, verbose: boolean, env: NodeJS.ProcessEnv = process.env) {
    this.values = values
    this.write = write
    this.verbose = verbose
    this.env = env
  }

  input(name: string): string {
    return (this.values.get(name) ?? '').trim()
  }

  inputLabel(name: string): string {
    return `--${name}`
  }

  info(text: string): void {
    this.line(text)
  }

  debug(text: string): void {
    if (this.verbose) this.line(`debug: ${text}`)
  }

  warning(text: string): void {
    this.line(`warning: ${text}`)
  }

  error(text: string, title?: string): void {
    this.failure = this.shown(text)
    this.line(`error: ${title ? `${title}: ` : ''}${text}`)
  }

  startGroup(name: string): void {
    if (this.env.GITLAB_CI) {
      // The section markers are ours, the only escape sequences that reach the log.
      this.group = { id: `flow_dispatch_${Date.now()}` }
      this.emit(`\x1b[0Ksection_start:${Math.floor(Date.now() / 1000)}:${this.group.id}[collapsed=false]\r\x1b[0K${this.shown(name)}`)
    } else {
      this.line(`--- ${name}`)
    }
  }

  endGroup(): void {
    if (this.group) this.emit(`\x1b[0Ksection_end:${Math.floor(Date.now() / 1000)}:${this.group.id}\r\x1b[0K`)
    this.group = undefined
  }

  setSecret(value: string): void {
    if (value === '' || this.masked.includes(value)) return
    this.masked.push(value)
    // The longest first: a secret that contains another is replaced whole.
    this.masked.sort((a, b) => b.length - a.length)
  }

  get secrets(): ReadonlySet<string> {
    return new Set(this.masked)
  }

  setOutput(name: string, value: string): void {
    this.outputs[name] = this.redact(value)
  }

  saveState(): void {
    // No post step follows a command: it cancels on a signal itself.
  }

  getState(): string {
    return ''
  }

  summary(): ReturnType<typeof stepSummary> {
    return stepSummary()
  }

  private line(text: string): void {
    this.emit(this.shown(text))
  }

  /** Cleaned before redacted: a secret split by a control character is whole again once it is dropped. */
  private shown(text: string): string {
    return this.redact(plainText(text))
  }

  private emit(text: string): void {
    if (this.env.GITHUB_ACTIONS === 'true') guardCommands(text, (line) => this.write(`${line}\n`))
    else this.write(`${text}\n`)
  }

  private redact(text: string): string {
    let result = text
    for (const secret of this.masked) result = result.replaceAll(secret, '***')
    return result
  }
}

/** 0 success, 1 the run failed or was cancelled, 2 bad input, 3 timeout, 4 the orchestrator could not be reached or read. */
export function exitCodeOf(result: Pick<RunResult, 'outcome' | 'error'>): number {
  switch (result.outcome) {
    case 'success':
    case 'triggered':
    case 'dry-run':
      return EXIT.success
    case 'failed':
    case 'cancelled':
      return EXIT.failed
    case 'timed-out':
      return EXIT.timedOut
    case 'error':
      return exitCodeOfError(result.error)
  }
}

function exitCodeOfError(error: unknown): number {
  // No error but no outcome: the job was cancelled and the run left as cancel-on asks.
  if (!(error instanceof FlowDispatchError)) return EXIT.failed
  const kind: ErrorKind = error.kind
  switch (kind) {
    case 'input':
    // The server understood us and refused what we asked for: the request was wrong, not the connection.
    case 'refused':
    case 'not-found':
      return EXIT.badInput
    case 'auth':
    case 'transient':
    case 'unreachable':
    case 'tls':
    case 'server':
      return EXIT.unreachable
    case 'cancelled':
      return EXIT.failed
  }
}

export interface Streams {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

const processStreams: Streams = { stdout: (text) => void process.stdout.write(text), stderr: (text) => void process.stderr.write(text) }

/**
 * With --json, the one line on stdout: the outputs, the outcome, the message
 * of the error that stopped the command, if one did, and the exit code.
 */
interface ResultDocument {
  outcome: RunResult['outcome']
  error?: string
  'exit-code': number
  [output: string]: string | number | undefined
}

/**
 * The result as one line of JSON whose values parse back exactly, but whose
 * text no log reads as anything else: JSON escapes C0 controls already; DEL,
 * C1 controls and line separators are escaped too, and so is the `[` of `##[`,
 * which the Actions runner reads as a command anywhere in a line.
 */
export function resultLine(document: ResultDocument): string {
  const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  return `${JSON.stringify(document).replace(/[\x7f-\x9f\u2028\u2029]|(?<=##)\[/g, unicodeEscape)}\n`
}

/** Whether the command line asks for --json, even one that cannot be read otherwise: its errors are results too. */
function asksForJson(argv: string[]): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json')
}

/** The command: its exit code, and whether it was interrupted (a signal cancels the run, as a cancelled job does). */
export async function cli(argv: string[], streams: Streams = processStreams): Promise<{ code: number; jobCancelled: boolean }> {
  let line: CommandLine | 'help' | 'version'
  // Options are named as options from the first message on.
  const early = new TerminalHost(new Map(), streams.stderr, false)
  try {
    line = parseCommandLine(argv)
  } catch (error) {
    early.error(describeError(error, (input) => early.inputLabel(input)))
    if (asksForJson(argv)) streams.stdout(resultLine({ outcome: 'error', error: early.failure, 'exit-code': EXIT.badInput }))
    return { code: EXIT.badInput, jobCancelled: false }
  }
  if (line === 'help' || line === 'version') {
    streams.stdout(answer(line))
    return { code: EXIT.success, jobCancelled: false }
  }
  // With --json, stdout carries the result alone.
  const host = new TerminalHost(line.values, line.json ? streams.stderr : streams.stdout, line.verbose)
  const result = await run(host)
  const code = exitCodeOf(result)
  if (line.json) streams.stdout(resultLine({ ...host.outputs, outcome: result.outcome, error: host.failure, 'exit-code': code }))
  else host.info(`outcome: ${result.outcome} (exit code ${code})`)
  return { code, jobCancelled: result.jobCancelled }
}
