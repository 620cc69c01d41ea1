/**
 * Figures for docs/benchmarks.md, against a real local Prefect server and a served
 * flow (the integration tests' own), each a median over repeated runs:
 * - trigger: the bundled action (`wait: false`) vs `prefect deployment run`
 *   vs one `curl` POST to `create_flow_run` (the floor), interleaved so that
 *   each ratio is measured in the same run;
 * - bundle sizes, and cold start: `node dist/index.js` until it has read and
 *   checked its inputs (a run that stops at a bad input); `npm run
 *   bench:startup` sets that against a bare `node`.
 * What waiting costs (detection latency, requests a minute) is `bench/wait.ts`'s, for both orchestrators.
 *
 *   node bench/prefect.ts [repeats] [--trigger]      (Node 24; `npm run bench:prefect`)
 *
 * --trigger measures the trigger rows alone.
 */
import { spawnSync } from 'node:child_process'
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { runAction } from '../test/support/action.ts'
import { prefectVenv, serveFlow, startPrefectServer } from '../test/support/prefect.ts'

const repeats = Number(process.argv.slice(2).find((arg) => /^\d+$/.test(arg)) ?? 7)
const triggerOnly = process.argv.includes('--trigger')
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const seconds = (ms: number): string => (ms / 1000).toFixed(2)

// The server answers 503 when its SQLite store is busy (the served flow is
// running the runs triggered just before). curl does not retry a POST, so a
// busy answer is counted and the POST timed again, a second later.
let busy = 0
async function timeCurl(url: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const started = Date.now()
    const curl = spawnSync(
      'curl',
      ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'POST', '-H', 'content-type: application/json', '-d', '{}', url],
      { encoding: 'utf8' }
    )
    const elapsed = Date.now() - started
    if (curl.status === 0 && curl.stdout.startsWith('2')) return elapsed
    if (curl.stdout !== '503' || attempt === 5) throw new Error(`curl: exit ${curl.status}, HTTP ${curl.stdout}\n${curl.stderr}`)
    busy++
    await sleep(1000)
  }
}

const venv = prefectVenv()
const server = await startPrefectServer(venv)
const serve = await serveFlow(venv, server, 'bench')
const rows: string[][] = []
try {
  const deployment = (await (await fetch(`${server.apiUrl}/deployments/name/it-flow/bench`)).json()) as { id: string }
  const quiet = { DO_NOT_TRACK: '1', PREFECT_SERVER_ANALYTICS_ENABLED: 'false' }

  // 1. Trigger, three ways, interleaved.
  const times = { action: [] as number[], cli: [] as number[], curl: [] as number[] }
  for (let i = 0; i < repeats; i++) {
    const action = await runAction({
      orchestrator: 'prefect',
      url: server.apiUrl,
      deployment: 'it-flow/bench',
      wait: 'false',
      summary: 'false'
    })
    if (action.code !== 0) throw new Error(`action: exit ${action.code}\n${action.stdout}${action.stderr}`)
    times.action.push(action.elapsedMs)
    const started = Date.now()
    const cli = spawnSync(join(venv, 'bin', 'prefect'), ['deployment', 'run', 'it-flow/bench'], {
      env: {
        PATH: process.env.PATH,
        HOME: server.workDir,
        PREFECT_HOME: join(server.workDir, 'cli-home'),
        PREFECT_API_URL: server.apiUrl,
        ...quiet
      },
      encoding: 'utf8'
    })
    times.cli.push(Date.now() - started)
    if (cli.status !== 0) throw new Error(`prefect deployment run: exit ${cli.status}\n${cli.stdout}${cli.stderr}`)
    times.curl.push(await timeCurl(`${server.apiUrl}/deployments/${deployment.id}/create_flow_run`))
  }
  const floor = median(times.curl)
  rows.push([
    'Trigger a deployment (no wait): the bundled action',
    `${seconds(median(times.action))} s`,
    `${(median(times.action) / floor).toFixed(1)}× curl`
  ])
  rows.push([
    'Trigger a deployment: `prefect deployment run` (Prefect 3.8.8 CLI)',
    `${seconds(median(times.cli))} s`,
    `${(median(times.cli) / floor).toFixed(1)}× curl; the action is ${(median(times.cli) / median(times.action)).toFixed(1)}× faster`
  ])
  rows.push(['Trigger a deployment: one `curl` POST (the floor)', `${seconds(floor)} s`, `1×; ${busy} busy (503) answers retried`])

  if (!triggerOnly) {
    // 4. Bundle size and cold start.
    const dist = process.env.FLOW_DISPATCH_DIST ?? join(import.meta.dirname, '..', 'dist')
    const size = (file: string) => `${(statSync(join(dist, file)).size / 1024).toFixed(0)} KiB`
    rows.push([
      'Bundle size: dist/index.js (main and post step); the command: its launcher dist/cli/index.js, its engine dist/cli/command/index.js',
      `${size('index.js')}; ${size('cli/index.js')}, ${size('cli/command/index.js')}`,
      'ncc -m'
    ])
    const cold: number[] = []
    for (let i = 0; i < repeats * 3; i++) {
      // A bad timeout stops the run right after the inputs are read and checked: nothing is sent.
      const result = await runAction({
        orchestrator: 'prefect',
        url: server.apiUrl,
        deployment: 'it-flow/bench',
        timeout: 'soon',
        summary: 'false'
      })
      if (!result.stdout.includes("Input 'timeout'")) throw new Error(`cold start: unexpected output\n${result.stdout}`)
      cold.push(result.elapsedMs)
    }
    rows.push([
      'Cold start: node dist/index.js until its inputs are read and checked',
      `${(median(cold)).toFixed(0)} ms`,
      `${cold.length} runs, Node ${process.version}`
    ])
  }
} finally {
  await serve.stop()
  await server.stop()
}
console.log(`| measure | median | notes |\n| --- | ---: | --- |`)
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
