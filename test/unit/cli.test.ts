import { readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { BOOLEAN_OPTIONS, cli, type CommandLine, EXIT, exitCodeOf, parseCommandLine, STRING_OPTIONS, TerminalHost } from '../../src/cli.js'
import { InputError, RemoteError } from '../../src/errors.js'
import { actionsHost, useHost } from '../../src/host.js'
import { NetworkError } from '../../src/http.js'
import { useActionEnvironment } from '../support/env.ts'
import { type Stub, startStub } from '../support/stub-server.ts'

useActionEnvironment()
let stub: Stub | undefined
afterEach(async () => {
  useHost(actionsHost)
  await stub?.close()
  stub = undefined
})

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
    const line = parsed('prefect', '--deployment', 'etl/nightly', '--param', 'date=2026-11-22', '--param', 'count=3', '--param', 'note=a=b', '--param', 'id="007"', '--label', 'team=data', '--label', 'env=ci', '--no-logs', '--wait', '--json')
    expect(line.orchestrator).toBe('prefect')
    expect(line.json).toBe(true)
    expect(Object.fromEntries(line.values)).toMatchObject({ orchestrator: 'prefect', deployment: 'etl/nightly', labels: 'team=data\nenv=ci', logs: 'false', wait: 'true' })
    expect(parse(line.values.get('parameters') ?? '', { schema: 'core' })).toEqual({ date: '2026-11-22', count: 3, note: 'a=b', id: '007' })
  })

  it.each([
    [['prefect', '--param', 'count'], "--param must be name=value; got 'count'"],
    [['prefect', '--param', 'a=1', '--param', 'a=2'], "--param names 'a' twice"],
    [['prefect', '--parameters', 'a: 1', '--param', 'b=2'], '--parameters is given both whole (--parameters) and item by item (--param): use one'],
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

  it('prints its usage and version', async () => {
    const out: string[] = []
    expect((await cli(['--help'], { stdout: (text) => void out.push(text), stderr: () => undefined })).code).toBe(0)
    expect(out.join('')).toContain('Exit codes: 0 success')
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
    ['error', new RemoteError('422 from the server', 422), 2],
    ['error', new RemoteError('no such deployment', 404), 2],
    ['error', new RemoteError('credentials refused', 401), 4],
    ['error', new RemoteError('server error', 500), 4],
    ['error', new NetworkError('refused', 'ECONNREFUSED'), 4],
    ['error', undefined, 1]
  ] as const)('%s (%s) exits %d', (outcome, error, code) => {
    expect(exitCodeOf({ outcome, error })).toBe(code)
  })
})

describe('the terminal host', () => {
  const host = (env: NodeJS.ProcessEnv = {}) => {
    const lines: string[] = []
    return { lines, host: new TerminalHost(new Map([['url', '  http://x  ']]), (text) => void lines.push(text), false, env) }
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
    plain.host.untrusted('a\x1b[2Jb\x1b[0Ksection_start:1:x\rc\x07 ::set-output name=x::y')
    expect(plain.lines).toEqual(['absection_start:1:xc ::set-output name=x::y\n'])
    const github = host({ GITHUB_ACTIONS: 'true' })
    github.host.untrusted('::set-output name=x::y')
    expect(github.lines[0]).toMatch(/^::stop-commands::[0-9a-f-]{36}\n$/)
    expect(github.lines[1]).toBe('::set-output name=x::y\n')
    expect(github.lines[2]).toBe(github.lines[0].replace(/^::stop-commands::(.*)\n$/, '::$1::\n'))
  })

  it('prints debug lines only when verbose', () => {
    const quiet = host()
    quiet.host.debug('hidden')
    expect(quiet.lines).toEqual([])
  })
})

describe('the command against a stub Prefect server', () => {
  it('sends nothing for bad input and exits 2; reports an unreachable server with 4', async () => {
    stub = await startStub(() => ({ status: 500, json: { detail: 'boom' } }))
    const io = { stdout: () => undefined, stderr: () => undefined }
    expect((await cli(['prefect', '--url', `${stub.url}/api`, '--timeout', 'soon'], io)).code).toBe(2)
    expect(stub.requests).toEqual([])
    expect((await cli(['prefect', '--url', `${stub.url}/api`, '--deployment', 'a/b', '--timeout', '3s'], io)).code).toBe(4)
  })
})
