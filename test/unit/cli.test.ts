import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import {
  BOOLEAN_OPTIONS,
  cli,
  type CommandLine,
  EXIT,
  exitCodeOf,
  parseCommandLine,
  resultLine,
  STRING_OPTIONS,
  TerminalHost
} from '../../src/cli.js'
import { FlowDispatchError, InputError } from '../../src/errors.js'
import { useActionEnvironment } from '../support/env.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { startStub } from '../support/stub-server.ts'

useActionEnvironment()
const serve = closedAfterEach(startStub)
afterEach(() => {})

const parsed = (...argv: string[]): CommandLine => {
  const line = parseCommandLine(argv)
  if (typeof line === 'string') throw new Error(`parsed as ${line}`)
  return line
}

describe('the command line', () => {
  it('has an option for every input of action.yml, the orchestrator being the command', () => {
    const inputs = Object.keys((parse(readFileSync('action.yml', 'utf8')) as { inputs: object }).inputs)
    expect([...STRING_OPTIONS, ...BOOLEAN_OPTIONS, 'orchestrator'].sort()).toEqual(inputs.sort())
  })

  it('turns options into the inputs of the same names, --param values read as YAML', () => {
    const line = parsed(
      'prefect',
      '--deployment',
      'etl/nightly',
      '--param',
      'date=2026-11-22',
      '--param',
      'count=3',
      '--param',
      'note=a=b',
      '--param',
      'id="007"',
      '--label',
      'team=data',
      '--label',
      'env=ci',
      '--no-logs',
      '--wait',
      '--json'
    )
    expect(line.orchestrator).toBe('prefect')
    expect(line.json).toBe(true)
    expect(Object.fromEntries(line.values)).toMatchObject({
      orchestrator: 'prefect',
      deployment: 'etl/nightly',
      labels: 'team=data\nenv=ci',
      logs: 'false',
      wait: 'true'
    })
    expect(parse(line.values.get('parameters') ?? '', { schema: 'core' })).toEqual({ date: '2026-11-22', count: 3, note: 'a=b', id: '007' })
  })

  it.each([
    [['prefect', '--param', 'count'], "--param must be name=value; got 'count'"],
    [['prefect', '--param', 'a=1', '--param', 'a=2'], "--param names 'a' twice"],
    // As the parameters input does: a tag that would change the value is refused, not applied or dropped.
    [['prefect', '--param', 'ratio=!!float 1'], "--param has the tag !!float at 'ratio'"],
    [['prefect', '--param', 'blob=!!binary aGk='], "--param has the tag !!binary at 'blob'"],
    [['prefect', '--param', 'x=!custom 1'], "--param has the tag !custom at 'x'"],
    [
      ['prefect', '--parameters', 'a: 1', '--param', 'b=2'],
      '--parameters is given both whole (--parameters) and item by item (--param): use one'
    ],
    [['prefect', '--wait', '--no-wait'], '--wait is given as both --wait and --no-wait'],
    [['prefect', '--colour', 'red'], "Unknown option '--colour'"],
    [['--deployment', 'x'], 'Name the orchestrator first'],
    [['prefect', 'extra'], "'extra' after the orchestrator is not an option"]
  ])('refuses %j, naming what is wrong', async (argv, message) => {
    const stderr: string[] = []
    const result = await cli(argv, { stdout: () => undefined, stderr: (text) => void stderr.push(text) })
    expect(result.code).toBe(EXIT.badInput)
    expect(stderr.join('')).toContain(message)
  })

  it.each([
    [['prefect', '--json', '--param', 'a=1', '--param', 'a=2'], "--param names 'a' twice"],
    [['prefect', '--colour', 'red', '--json'], "Unknown option '--colour'"],
    [['--json', '--deployment', 'x'], 'Name the orchestrator first'],
    [['prefect', '--json', '--wait', '--no-wait'], '--wait is given as both --wait and --no-wait']
  ])('with --json, refuses %j with the result document on stdout, the log on stderr', async (argv, message) => {
    const stdout: string[] = []
    const stderr: string[] = []
    const result = await cli(argv, { stdout: (text) => void stdout.push(text), stderr: (text) => void stderr.push(text) })
    expect(result.code).toBe(EXIT.badInput)
    expect(stdout).toHaveLength(1)
    expect(JSON.parse(stdout[0])).toEqual({ outcome: 'error', error: expect.stringContaining(message), 'exit-code': 2 })
    expect(stderr.join('')).toMatch(/^error: /)
  })

  it('without --json, or with it only after --, prints nothing on stdout for a bad command line', async () => {
    for (const argv of [
      ['prefect', '--colour', 'red'],
      ['prefect', '--', '--json']
    ]) {
      const stdout: string[] = []
      expect((await cli(argv, { stdout: (text) => void stdout.push(text), stderr: () => undefined })).code).toBe(EXIT.badInput)
      expect(stdout).toEqual([])
    }
  })

  it('prints its usage and version', async () => {
    const usage: string[] = []
    expect((await cli(['--help'], { stdout: (text) => void usage.push(text), stderr: () => undefined })).code).toBe(0)
    expect(usage.join('')).toContain('Exit codes: 0 success')
    const version: string[] = []
    expect((await cli(['--version'], { stdout: (text) => void version.push(text), stderr: () => undefined })).code).toBe(0)
    expect(version).toEqual([`${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`])
  })
})

describe('exit codes', () => {
  it.each([
    ['success', undefined, 0],
    ['triggered', undefined, 0],
    ['dry-run', undefined, 0],
    ['failed', undefined, 1],
    ['cancelled', undefined, 1],
    ['timed-out', undefined, 3],
    ['error', new InputError('deployment', 'is required'), 2],
    ['error', new FlowDispatchError('refused', '422 from the server', { status: 422 }), 2],
    ['error', new FlowDispatchError('not-found', 'no such deployment', { status: 404 }), 2],
    ['error', new FlowDispatchError('auth', 'credentials refused', { status: 401 }), 4],
    ['error', new FlowDispatchError('transient', 'server error', { status: 500 }), 4],
    ['error', new FlowDispatchError('unreachable', 'refused', { code: 'ECONNREFUSED' }), 4],
    ['error', new FlowDispatchError('tls', 'certificate refused'), 4],
    ['error', new FlowDispatchError('server', 'not JSON'), 4],
    ['error', new FlowDispatchError('cancelled', 'cancelled before the run was created'), 1],
    ['error', undefined, 1]
  ] as const)('%s (%s) exits %d', (outcome, error, code) => {
    expect(exitCodeOf({ outcome, error })).toBe(code)
  })
})

describe('the terminal host', () => {
  const host = (env: NodeJS.ProcessEnv = {}, verbose = false) => {
    const lines: string[] = []
    return { lines, host: new TerminalHost(new Map([['url', '  http://x  ']]), (text) => void lines.push(text), verbose, env) }
  }

  it('reads inputs trimmed and replaces every secret, the longest first, wherever it appears', () => {
    const { host: terminal, lines } = host()
    expect(terminal.input('url')).toBe('http://x')
    terminal.setSecret('pass')
    terminal.setSecret('user:pass')
    terminal.info('auth user:pass and pass')
    terminal.setOutput('run-url', 'http://x/?k=pass')
    expect(lines).toEqual(['auth *** and ***\n'])
    expect(terminal.outputs).toEqual({ 'run-url': 'http://x/?k=***' })
  })

  it('drops control characters and escape sequences from remote text, and guards commands inside GitHub Actions', () => {
    const plain = host()
    plain.host.info('a\x1b[2Jb\x1b[0Ksection_start:1:x\rc\x07 ::set-output name=x::y')
    expect(plain.lines).toEqual(['absection_start:1:xc ::set-output name=x::y\n'])
    const github = host({ GITHUB_ACTIONS: 'true' })
    github.host.info('::set-output name=x::y')
    expect(github.lines[0]).toMatch(/^::stop-commands::[0-9a-f-]{36}\n$/)
    expect(github.lines[1]).toBe('::set-output name=x::y\n')
    expect(github.lines[2]).toBe(github.lines[0].replace(/^::stop-commands::(.*)\n$/, '::$1::\n'))
  })

  it('prints debug lines only when verbose', () => {
    const quiet = host()
    quiet.host.debug('hidden')
    expect(quiet.lines).toEqual([])
    const verbose = host({}, true)
    verbose.host.debug('shown')
    expect(verbose.lines).toEqual(['debug: shown\n'])
  })

  it('is verbose with --verbose only', () => {
    expect(parsed('prefect').verbose).toBe(false)
    expect(parsed('prefect', '--verbose').verbose).toBe(true)
  })
})

describe('the command against a stub Prefect server', () => {
  it('sends nothing for bad input and exits 2; reports an unreachable server with 4', async () => {
    const stub = await serve(() => ({ status: 500, json: { detail: 'boom' } }))
    const io = { stdout: () => undefined, stderr: () => undefined }
    expect((await cli(['prefect', '--url', `${stub.url}/api`, '--timeout', 'soon'], io)).code).toBe(2)
    expect(stub.requests).toEqual([])
    expect((await cli(['prefect', '--url', `${stub.url}/api`, '--deployment', 'a/b', '--timeout', '3s'], io)).code).toBe(4)
  })

  it('with --json, a runtime error is a result document too, its message in the error field', async () => {
    const stub = await serve(() => ({ status: 404, json: { detail: 'Deployment not found' } }))
    const stdout: string[] = []
    const code = (
      await cli(['prefect', '--url', `${stub.url}/api`, '--deployment', 'a/b', '--json'], {
        stdout: (text) => void stdout.push(text),
        stderr: () => undefined
      })
    ).code
    expect(code).toBe(2)
    expect(stdout).toHaveLength(1)
    expect(JSON.parse(stdout[0])).toEqual({ outcome: 'error', error: expect.stringContaining("'a/b'"), 'exit-code': 2 })
  })
})

describe('the result document', () => {
  it('is one line that parses back to the same values, with nothing a log or the runner would act on', () => {
    const name = 'x\x1b[2J\x9b2J\u2028##[set-output name=outcome;]success\n::add-mask::y'
    const line = resultLine({ 'run-name': name, outcome: 'failed', error: `ended: ${name}`, 'exit-code': 1 })
    expect(line.endsWith('\n')).toBe(true)
    expect(line).not.toContain('##[')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not be there
    expect(line.slice(0, -1)).not.toMatch(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/)
    expect(JSON.parse(line)).toEqual({ 'run-name': name, outcome: 'failed', error: `ended: ${name}`, 'exit-code': 1 })
  })
})
