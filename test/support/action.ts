import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** FLOW_DISPATCH_DIST: a bundle made elsewhere (`ncc build ... -o DIR`), so two people can test two bundles at once. */
const DIST = process.env.FLOW_DISPATCH_DIST ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist')
/** The action's one bundle, for the main and the post step alike, as action.yml runs it. */
const ACTION = join(DIST, 'index.js')
const CLI = join(DIST, 'cli', 'index.js')

export interface ActionResult {
  code: number | null
  stdout: string
  stderr: string
  /** The last value of each output, read from the GITHUB_OUTPUT file as the runner reads it. */
  outputs: Record<string, string>
  /** What the step saved for its post step (GITHUB_STATE). */
  state: Record<string, string>
  summary: string
  /** Milliseconds from the start of the process to its exit. */
  elapsedMs: number
}

/** Everything a step shows a user or leaves behind, but the mask commands themselves: where no secret may appear. */
export function everythingShown(result: ActionResult): string {
  return [
    result.stdout.replaceAll(/^::add-mask::.*$/gm, ''),
    result.stderr,
    result.summary,
    JSON.stringify(result.outputs),
    JSON.stringify(result.state)
  ].join('\n')
}

export interface RunOptions {
  /** Copy the step's output to this process's, for the demo. */
  echo?: boolean
  /**
   * The main step, or the post step: the same file, given the main step's saved state as the runner gives it
   * (`STATE_<name>`), where the isPost that main saves at its start sends it down the post path.
   */
  entry?: 'main' | 'post'
  state?: Record<string, string>
  /** Sees the output so far each time more arrives; may signal the process, as the runner does on a cancel. */
  watch?: (stdout: string, child: ChildProcess) => void
}

/** What a runner sets for a step of a workflow run; a test overrides what it is about. */
export const GITHUB_ENV = {
  GITHUB_ACTIONS: 'true',
  GITHUB_REPOSITORY: 'acme/pipelines',
  GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_JOB: 'release',
  GITHUB_ACTION: 'trigger',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_WORKFLOW: 'release'
}

/**
 * Runs the bundled action as the runner does: a separate Node process with
 * `INPUT_<NAME>` variables (hyphens kept) and real command files, and nothing
 * else from this process's environment.
 */
export async function runAction(
  inputs: Record<string, string>,
  env: Record<string, string | undefined> = {},
  options: RunOptions = {}
): Promise<ActionResult> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-step-'))
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary'), GITHUB_STATE: join(dir, 'state') }
  for (const file of Object.values(files)) writeFileSync(file, '')
  const inputEnv = Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]))
  // A post step run with a state main never saved would run the main path, and pass or fail for the wrong reason.
  if ((options.entry === 'post') !== (options.state?.isPost === 'true')) {
    throw new Error(
      `the ${options.entry ?? 'main'} step given state ${JSON.stringify(options.state ?? {})}: only main's saved state makes a post step`
    )
  }
  const stateEnv = Object.fromEntries(Object.entries(options.state ?? {}).map(([name, value]) => [`STATE_${name}`, value]))
  const started = Date.now()
  const child = spawn(process.execPath, [ACTION], {
    env: { PATH: process.env.PATH, HOME: dir, RUNNER_TEMP: dir, ...GITHUB_ENV, ...files, ...inputEnv, ...stateEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
    options.watch?.(stdout, child)
  })
  child.stderr.on('data', (chunk) => (stderr += chunk))
  if (options.echo) {
    child.stdout.pipe(process.stdout)
    child.stderr.pipe(process.stderr)
  }
  const [code] = (await once(child, 'exit')) as [number | null]
  const elapsedMs = Date.now() - started
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputFile(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
    state: parseOutputFile(readFileSync(files.GITHUB_STATE, 'utf8')),
    summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    elapsedMs
  }
}

/** `name<<delimiter`, the value's lines, `delimiter`: the file format @actions/core writes. */
export function parseOutputFile(text: string): Record<string, string> {
  const outputs: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const match = /^([^<=]+)<<(.+)$/.exec(lines[i])
    if (!match) continue
    const [, name, delimiter] = match
    const end = lines.indexOf(delimiter, i + 1)
    if (end < 0) throw new Error(`output ${name} has no closing delimiter`)
    outputs[name] = lines.slice(i + 1, end).join('\n')
    i = end
  }
  return outputs
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * Runs the bundled command as another CI system would: a Node process with
 * these arguments, and of this process's environment only PATH.
 */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  watch?: (stderr: string, child: ChildProcess) => void
): Promise<CliResult> {
  const home = mkdtempSync(join(tmpdir(), 'flow-dispatch-cli-'))
  // The command runs on every maintained Node, not only the runner's: CI runs its tests on Node 22 this way too.
  const child = spawn(process.env.FLOW_DISPATCH_CLI_NODE || process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, HOME: home, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => {
    stderr += chunk
    watch?.(stderr, child)
  })
  const [code] = (await once(child, 'exit')) as [number | null]
  return { code, stdout, stderr }
}
