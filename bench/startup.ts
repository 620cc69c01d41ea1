/**
 * Cold start of the bundles against a bare `node -e 0`, on the same machine in
 * the same run: every command is spawned once per round, rounds interleaved,
 * and each row is a median over the rounds.
 * - the action as the runner starts it (GITHUB_* variables, command files),
 *   with no inputs: the run that stops at the first bad input;
 * - its post step with nothing saved but isPost (no run was created);
 * - the command's `--version`.
 * With --packages, each dependency is bundled alone (ncc -m, what we import
 * from it and nothing else) and timed the same way: what importing it costs.
 *
 *   node bench/startup.ts [rounds] [--packages]      (Node 24; `npm run bench:startup`)
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GITHUB_ENV } from '../test/support/action.ts'

const args = process.argv.slice(2)
const rounds = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 40)
const root = join(import.meta.dirname, '..')
const dist = process.env.FLOW_DISPATCH_DIST ?? join(root, 'dist')

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

interface Command {
  label: string
  args: string[]
  env?: Record<string, string>
  /** What its output must hold, so that a broken bundle is not timed as a fast one. */
  expect?: string
}

/** Spawns each command once a round, in turn; returns the median milliseconds of each. */
function time(commands: Command[]): number[] {
  const times = commands.map((): number[] => [])
  for (let round = 0; round < rounds; round++) {
    commands.forEach((command, i) => {
      const started = process.hrtime.bigint()
      const child = spawnSync(process.execPath, command.args, { env: command.env ?? { PATH: process.env.PATH }, encoding: 'utf8' })
      times[i].push(Number(process.hrtime.bigint() - started) / 1e6)
      if (command.expect !== undefined && !child.stdout.includes(command.expect)) {
        throw new Error(`${command.label}: no '${command.expect}' in its output (exit ${child.status})\n${child.stdout}${child.stderr}`)
      }
    })
  }
  return times.map(median)
}

/** The environment the runner gives a step: its variables and empty command files. */
function runnerEnv(state: Record<string, string> = {}): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-startup-'))
  const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STEP_SUMMARY: join(dir, 'summary'), GITHUB_STATE: join(dir, 'state') }
  for (const file of Object.values(files)) writeFileSync(file, '')
  const stateEnv = Object.fromEntries(Object.entries(state).map(([name, value]) => [`STATE_${name}`, value]))
  return { PATH: process.env.PATH ?? '', HOME: dir, RUNNER_TEMP: dir, ...GITHUB_ENV, ...files, ...stateEnv }
}

const bare: Command = { label: '`node -e 0`', args: ['-e', '0'] }
const rows: string[][] = []
const row = (command: Command, ms: number, floor: number, notes: string) =>
  rows.push([command.label, `${ms.toFixed(1)} ms`, `${(ms / floor).toFixed(2)}×`, notes])

const kib = (file: string) => `${(statSync(join(dist, file)).size / 1024).toFixed(0)} KiB`
const commands: Command[] = [
  bare,
  {
    label: 'the action, no inputs: `node dist/index.js`',
    args: [join(dist, 'index.js')],
    env: runnerEnv(),
    expect: "Input 'orchestrator' is required"
  },
  {
    label: 'its post step, no run saved',
    args: [join(dist, 'index.js')],
    env: runnerEnv({ isPost: 'true' }),
    expect: 'No run was created'
  },
  { label: 'the command: `node dist/cli/index.js --version`', args: [join(dist, 'cli', 'index.js'), '--version'], expect: '.' }
]
const medians = time(commands)
row(bare, medians[0], medians[0], `${rounds} rounds, interleaved; Node ${process.version}`)
row(commands[1], medians[1], medians[0], `stops at the first bad input; dist/index.js ${kib('index.js')}`)
row(commands[2], medians[2], medians[0], 'the same file, told apart by the saved isPost')
row(
  commands[3],
  medians[3],
  medians[0],
  `answered by the launcher, dist/cli/index.js ${kib(join('cli', 'index.js'))}; the engine it loads otherwise, dist/cli/command/index.js ${kib(join('cli', 'command', 'index.js'))}`
)

if (args.includes('--packages')) {
  // Under node_modules, so that ncc resolves the packages as it does for src/.
  const work = join(root, 'node_modules', '.cache', 'flow-dispatch-startup')
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const packages: Record<string, string> = {
    '@actions/core': "import { getInput } from '@actions/core'\nglobalThis.used = getInput",
    '@actions/github': "import { context } from '@actions/github'\nglobalThis.used = context",
    '@actions/http-client': "import { HttpClient } from '@actions/http-client'\nglobalThis.used = HttpClient",
    yaml: "import { parseDocument } from 'yaml'\nglobalThis.used = parseDocument",
    'undici (through @actions/http-client)': "import { ProxyAgent } from 'undici'\nglobalThis.used = ProxyAgent"
  }
  const alone = Object.entries(packages).map(([name, source], i): Command => {
    writeFileSync(join(work, `${i}.mjs`), `${source}\n`)
    const out = join(work, String(i))
    execFileSync(join(root, 'node_modules', '.bin', 'ncc'), ['build', join(work, `${i}.mjs`), '-o', out, '-m', '-q'], { stdio: 'ignore' })
    return { label: `${name} alone, bundled`, args: [join(out, 'index.mjs')] }
  })
  const packageMedians = time([bare, ...alone])
  alone.forEach((command, i) => {
    const size = (statSync(command.args[0]).size / 1024).toFixed(0)
    row(command, packageMedians[i + 1], packageMedians[0], `${size} KiB; bare node ${packageMedians[0].toFixed(1)} ms in this set`)
  })
  rmSync(work, { recursive: true, force: true })
}

console.log('| start | median | × bare node | notes |\n| --- | ---: | ---: | --- |')
for (const cells of rows) console.log(`| ${cells.join(' | ')} |`)
