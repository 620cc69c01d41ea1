import { afterEach, describe, expect, it, vi } from 'vitest'
import { TerminalHost } from '../../src/cli.js'
import { ActionsHost, type Host } from '../../src/host.js'
import { useActionEnvironment } from '../support/env.ts'

/**
 * Whether any host can be made to run a workflow command by the text it is
 * given, judged by how the Actions runner reads a step's output (both streams),
 * after actions/runner's ActionCommand.TryParseV2 and TryParse and
 * ActionCommandManager.TryProcessCommand: one line at a time, a `::name ...::data`
 * command from the start of the line once leading blanks are trimmed, else the
 * old `##[name ...]data` anywhere in it, and nothing but the resume token while
 * `stop-commands` holds.
 */
interface Command {
  name: string
  data: string
}

const REGISTERED = [
  'add-mask',
  'set-output',
  'save-state',
  'set-env',
  'add-path',
  'add-matcher',
  'remove-matcher',
  'echo',
  'debug',
  'notice',
  'warning',
  'error',
  'group',
  'endgroup',
  'stop-commands'
]

function parse(line: string, registered: Set<string>): Command | undefined {
  const trimmed = line.trimStart()
  if (trimmed.startsWith('::')) {
    const end = trimmed.indexOf('::', 2)
    const name = end < 0 ? '' : trimmed.slice(2, end).split(' ')[0].toLowerCase()
    if (registered.has(name)) return { name, data: trimmed.slice(end + 2) }
  }
  const prefix = line.indexOf('##[')
  const close = prefix < 0 ? -1 : line.indexOf(']', prefix)
  if (close < 0) return undefined
  const name = line
    .slice(prefix + 3, close)
    .split(' ')[0]
    .toLowerCase()
  return registered.has(name) ? { name, data: line.slice(close + 1) } : undefined
}

/** The commands the runner carries out, `stop-commands` and its resume token left out. */
function commandsRun(log: string): Command[] {
  const registered = new Set(REGISTERED)
  const run: Command[] = []
  let stopToken: string | undefined
  for (const line of log.split(/\r\n|\r|\n/)) {
    const command = parse(line, registered)
    if (!command) continue
    if (stopToken !== undefined) {
      if (command.name === stopToken) {
        registered.delete(stopToken)
        stopToken = undefined
      }
    } else if (command.name === 'stop-commands') {
      stopToken = command.data.toLowerCase()
      registered.add(stopToken)
    } else {
      run.push(command)
    }
  }
  return run
}

/** What a flow's exception message, a run's name or a server's error body may say. */
const HOSTILE =
  'boom\n::set-output name=outcome::success\n  ::add-mask::x\r::save-state name=run-id::0\n##[set-output name=state;]HACKED\n::stop-commands::abc'

/** Every way a host writes text, each given the hostile text. */
function writeEverything(host: Host): void {
  host.info(HOSTILE)
  host.warning(HOSTILE)
  host.error(HOSTILE, `Prefect run '${HOSTILE}' ended FAILED`)
  host.startGroup(`Prefect run '${HOSTILE}': states and log`)
  host.endGroup()
}

useActionEnvironment()
afterEach(() => {
  vi.restoreAllMocks()
})

describe('no text given to a host runs a workflow command', () => {
  it('the action: error, warning and group are one escaped command line each, info and remote text are guarded', () => {
    const written: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written.push(String(chunk))
      return true
    })
    writeEverything(new ActionsHost())
    vi.restoreAllMocks()
    const log = written.join('')
    // The %0A escape keeps each message on its command's line: what follows a newline is the message's text, not a command.
    expect(commandsRun(log)).toEqual([
      { name: 'warning', data: expect.stringContaining('%0A::set-output name=outcome::success%0A  ::add-mask::x%0D::save-state') },
      { name: 'error', data: expect.stringContaining('%0A::set-output name=outcome::success') },
      { name: 'group', data: expect.stringContaining("Prefect run 'boom%0A::set-output") },
      { name: 'endgroup', data: '' }
    ])
    expect(log).toMatch(/^::error title=Prefect run 'boom%0A%3A%3Aset-output name=outcome%3A%3Asuccess/m)
  })

  it.each([
    ['a GitHub step', { GITHUB_ACTIONS: 'true' }],
    ['a GitHub step in a GitLab-like shell', { GITHUB_ACTIONS: 'true', GITLAB_CI: 'true' }]
  ])('the command in %s: every line it writes, errors and groups included, is guarded', (_, env) => {
    const written: string[] = []
    const terminal = new TerminalHost(new Map(), (text) => void written.push(text), true, env)
    writeEverything(terminal)
    terminal.debug(HOSTILE)
    expect(commandsRun(written.join(''))).toEqual([])
    expect(written.join('')).toContain('error: ')
  })

  it('the command with no GitHub around it writes no stop-commands markers', () => {
    const written: string[] = []
    writeEverything(new TerminalHost(new Map(), (text) => void written.push(text), false, {}))
    expect(written.join('')).not.toMatch(/::stop-commands::[0-9a-f-]{36}/)
  })
})

describe('no escape sequence from remote text reaches the terminal', () => {
  const ESCAPES =
    'a\x1b[2Jb\x1b[0Ksection_start:1:x[collapsed=true]\r\x1b[0Kc\x07\x1b]8;;http://evil\x07link\x1b]8;;\x07 \x9b31m\x1b[38;5;1m\x7fd\te'

  it.each([
    ['info', (host: Host) => host.info(ESCAPES)],
    ['warning', (host: Host) => host.warning(ESCAPES)],
    ['error', (host: Host) => host.error(ESCAPES, ESCAPES)],
    ['debug', (host: Host) => host.debug(ESCAPES)],
    ['startGroup', (host: Host) => host.startGroup(ESCAPES)]
  ])('%s drops them, and keeps tabs and newlines', (_, write) => {
    const written: string[] = []
    write(new TerminalHost(new Map(), (text) => void written.push(text), true, {}))
    const text = written.join('')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not be there
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/)
    expect(text).toContain('absection_start:1:x[collapsed=true]clink 31md\te\n')
  })

  it("in GitLab, a group's own section markers are the only escape sequences", () => {
    const written: string[] = []
    const terminal = new TerminalHost(new Map(), (text) => void written.push(text), false, { GITLAB_CI: 'true' })
    terminal.startGroup(`run '${ESCAPES}'`)
    terminal.endGroup()
    const [start, end] = written
    expect(start).toMatch(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: GitLab's section markers are escape sequences
      /^\x1b\[0Ksection_start:\d+:flow_dispatch_\d+\[collapsed=false\]\r\x1b\[0Krun 'absection_start:1:x\[collapsed=true\]clink 31md\te'\n$/
    )
    // biome-ignore lint/suspicious/noControlCharactersInRegex: GitLab's section markers are escape sequences
    expect(end).toMatch(/^\x1b\[0Ksection_end:\d+:flow_dispatch_\d+\r\x1b\[0K\n$/)
  })

  it('replaces a secret that a control character split in two', () => {
    const written: string[] = []
    const terminal = new TerminalHost(new Map(), (text) => void written.push(text), false, {})
    terminal.setSecret('hunter2')
    terminal.error('the server said: hun\x1b[0mter2')
    expect(written).toEqual(['error: the server said: ***\n'])
    expect(terminal.failure).toBe('the server said: ***')
  })
})
