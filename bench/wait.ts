/**
 * What waiting for a run costs, against the real local servers (a Prefect
 * server with the integration tests' served flow, and the Kestra OSS server
 * of shared/kestra-server), the bundled action run as the runner runs it:
 * - detection latency: from the end the server records for a run (Prefect's
 *   `end_time`, Kestra's `state.endDate`) to the action's exit, over short
 *   runs (5–15 s, spread so the end falls anywhere in a poll), at default
 *   inputs (wait, logs on, poll-interval 10s);
 * - API requests a minute of waiting: one 120 s run through a pass-through
 *   proxy, the requests from the create to the run's end counted by
 *   `METHOD path`; a stream (server-sent events, a WebSocket upgrade) counts
 *   once, when it is opened.
 *
 *   node bench/wait.ts [repeats] [--prefect|--kestra] [--stall] [--no-log-stream]   (Node 24; `npm run bench:wait`)
 *
 * The Prefect server streams logs (`/logs/out`), as Prefect Cloud does;
 * --no-log-stream runs it as a self-hosted server runs by default, without.
 *
 * --stall measures the latency through a proxy that stalls every stream
 * request (a WebSocket upgrade, a path ending in /follow, /events/out or
 * /logs/out) and passes the rest: how long the action takes to see the end
 * when its stream goes quiet without closing. It measures the latency alone.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { type ActionResult, runAction } from '../test/support/action.ts'
import { basicAuthorization } from '../test/support/basic-auth.ts'
import { type Fault, type ProxiedRequest, startFaultProxy } from '../test/support/fault-proxy.ts'
import { deployFlows, startKestraServer } from '../test/support/kestra.ts'
import { prefectVenv, serveFlow, startPrefectServer } from '../test/support/prefect.ts'

const args = process.argv.slice(2)
const repeats = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 5)
const stall = args.includes('--stall')
const logStream = !args.includes('--no-log-stream')
const only = args.includes('--prefect') ? 'prefect' : args.includes('--kestra') ? 'kestra' : undefined
const LONG_RUN_SECONDS = 120
/** How many log lines each run writes: the log is read while waiting, as it is by default. */
const LOG_LINES = 5

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}
const seconds = (ms: number): string => (ms / 1000).toFixed(2)

/** One orchestrator as the benchmark drives it: the action's inputs for a run of a given length, and the end the server records. */
interface Target {
  name: 'Prefect' | 'Kestra'
  inputs(url: string, runSeconds: number): Record<string, string>
  isCreate(request: ProxiedRequest): boolean
  /** Server time (ms since the epoch) the run ended at. */
  endOf(runId: string): Promise<number>
  /** The wait's own settings, for the notes. */
  settings: string
}

/** From the first byte: a Prefect socket then never answers its auth message; a Kestra stream has its headers. */
const STALL: Fault = { kind: 'stall' }
const isStream = (request: Omit<ProxiedRequest, 'fault' | 'at'>): boolean =>
  request.headers.upgrade !== undefined || /\/(follow|events\/out|logs\/out)(\?|$)/.test(request.path)
const passAll = (): Fault => ({ kind: 'pass' })
const stallStreams = (request: Omit<ProxiedRequest, 'fault' | 'at'>): Fault => (isStream(request) ? STALL : { kind: 'pass' })

/**
 * Runs the action once through a proxy with this plan. A stalled stream could keep the action waiting for ever:
 * past the run's length and three minutes more it is killed, and the benchmark stops saying so.
 */
async function runThroughProxy(
  target: Target,
  upstream: string,
  runSeconds: number,
  plan: (request: Omit<ProxiedRequest, 'fault' | 'at'>) => Fault
): Promise<{ result: ActionResult; exitedAt: number; requests: ProxiedRequest[] }> {
  const proxy = await startFaultProxy(upstream, plan)
  let child: ChildProcess | undefined
  let killed = false
  const limitMs = (runSeconds + 180) * 1000
  const timer = setTimeout(() => {
    killed = true
    child?.kill('SIGKILL')
  }, limitMs)
  try {
    const result = await runAction(target.inputs(proxy.url, runSeconds), {}, { watch: (_stdout, spawned) => (child = spawned) })
    const exitedAt = Date.now()
    if (killed) throw new Error(`${target.name}: the action had not exited ${limitMs / 1000} s after its start; killed\n${result.stdout}`)
    if (result.code !== 0 || result.outputs.outcome !== 'success') {
      throw new Error(`${target.name}: action exit ${result.code}, outcome ${result.outputs.outcome}\n${result.stdout}${result.stderr}`)
    }
    return { result, exitedAt, requests: proxy.requests }
  } finally {
    clearTimeout(timer)
    await proxy.close()
  }
}

/** Latency over `repeats` short runs, then (but with --stall) the requests of one long run: a table row each. */
async function measure(target: Target, upstream: string): Promise<string[][]> {
  const latencies: number[] = []
  const lengths: number[] = []
  let stalled = 0
  for (let i = 0; i < repeats; i++) {
    // 5 to 15 s, evenly: the run's end falls at another point of the poll each time.
    const runSeconds = repeats > 1 ? Math.round((5 + (10 * i) / (repeats - 1)) * 2) / 2 : 10
    const { result, exitedAt, requests } = await runThroughProxy(target, upstream, runSeconds, stall ? stallStreams : passAll)
    const end = await target.endOf(result.outputs['run-id'])
    latencies.push(exitedAt - end)
    lengths.push(runSeconds)
    stalled += requests.filter((request) => request.fault === STALL).length
    console.error(`${target.name}: ${runSeconds} s run, detected ${seconds(exitedAt - end)} s after its end`)
  }
  const rows: string[][] = [
    [
      `${target.name}: detection latency, run end (server time) to the action's exit${stall ? ', streams stalled' : ''}`,
      `${seconds(median(latencies))} s`,
      `${latencies.length} runs (${lengths.join(', ')} s long): ${seconds(Math.min(...latencies))}–${seconds(Math.max(...latencies))} s; ${target.settings}` +
        (stall ? `; ${stalled} stream requests stalled` : '')
    ]
  ]
  // The requests of waiting are counted with every request passed: --stall is about the latency alone.
  if (stall) return rows

  const { result, requests } = await runThroughProxy(target, upstream, LONG_RUN_SECONDS, passAll)
  const runId = result.outputs['run-id']
  const end = await target.endOf(runId)
  const create = requests.find((request) => target.isCreate(request))
  if (!create) throw new Error(`${target.name}: no create request among ${requests.map((r) => `${r.method} ${r.path}`).join(', ')}`)
  const waiting = requests.filter((request) => request.at > create.at && request.at <= end)
  const minutes = (end - create.at) / 60_000
  const byKind = new Map<string, number>()
  const byMinute: number[] = Array.from({ length: Math.ceil(minutes) }, () => 0)
  for (const request of waiting) {
    const path = request.path
      .replace(/\?.*$/, '')
      .replaceAll(runId, '{id}')
      .replaceAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '{id}')
    const kind = `${request.method} ${path}${request.headers.upgrade ? ' (WebSocket)' : ''}`
    byKind.set(kind, (byKind.get(kind) ?? 0) + 1)
    // A request at the very end of a whole number of minutes belongs to the last one.
    byMinute[Math.min(Math.floor((request.at - create.at) / 60_000), byMinute.length - 1)]++
  }
  const kinds = [...byKind].sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${count} ${kind}`)
  const last = Math.round((minutes % 1) * 60)
  const perMinute = byMinute.join(', ') + (last > 0 ? ` (the last ${last} s)` : '')
  rows.push([
    `${target.name}: API requests a minute of waiting (${LONG_RUN_SECONDS} s run, defaults, logs on)`,
    (waiting.length / minutes).toFixed(1),
    `${waiting.length} requests in ${(minutes * 60).toFixed(0)} s from the create to the end: ${kinds.join(', ')}; minute by minute: ${perMinute}`
  ])
  return rows
}

async function prefect(): Promise<string[][]> {
  const venv = prefectVenv()
  const server = await startPrefectServer(venv, { streamLogs: logStream })
  try {
    const serve = await serveFlow(venv, server, 'bench')
    try {
      return await measure(
        {
          name: 'Prefect',
          inputs: (url, runSeconds) => ({
            orchestrator: 'prefect',
            url,
            deployment: 'it-flow/bench',
            parameters: `sleep_seconds: ${runSeconds}\nlines: ${LOG_LINES}`,
            summary: 'false'
          }),
          isCreate: (request) => request.method === 'POST' && request.path.endsWith('/create_flow_run'),
          async endOf(runId) {
            const response = await fetch(`${server.apiUrl}/flow_runs/${runId}`, { headers: server.headers })
            if (!response.ok) throw new Error(`GET /flow_runs/${runId}: ${response.status} ${await response.text()}`)
            const run = (await response.json()) as { end_time: string | null }
            if (!run.end_time) throw new Error(`Prefect run ${runId} has no end_time`)
            return Date.parse(run.end_time)
          },
          settings: `defaults: wait, logs on, poll-interval 10s; the server ${logStream ? 'streams logs (as Prefect Cloud does)' : 'does not stream logs (a self-hosted default)'}`
        },
        server.apiUrl
      )
    } finally {
      await serve.stop()
    }
  } finally {
    await server.stop()
  }
}

/** A Log, a Sleep as long as its input, a Log: the log has lines before and after the wait. */
const KESTRA_FLOW = `- id: bench_wait
  namespace: dev
  inputs:
    - id: duration
      type: DURATION
      defaults: PT5S
  tasks:
    - id: before
      type: io.kestra.plugin.core.log.Log
      message: "sleeping {{ inputs.duration }}"
    - id: wait
      type: io.kestra.plugin.core.flow.Sleep
      duration: "{{ inputs.duration }}"
    - id: after
      type: io.kestra.plugin.core.log.Log
      message: awake
`

async function kestra(): Promise<string[][]> {
  const server = await startKestraServer()
  try {
    const file = join(mkdtempSync(join(tmpdir(), 'flow-dispatch-bench-')), 'flows.yml')
    writeFileSync(file, KESTRA_FLOW)
    await deployFlows(server, file)
    return await measure(
      {
        name: 'Kestra',
        inputs: (url, runSeconds) => ({
          orchestrator: 'kestra',
          url,
          username: server.username,
          password: server.password,
          namespace: 'dev',
          flow: 'bench_wait',
          parameters: `duration: PT${runSeconds}S`,
          summary: 'false'
        }),
        isCreate: (request) => request.method === 'POST' && /\/executions\/dev\/bench_wait(\?|$)/.test(request.path),
        async endOf(runId) {
          const response = await fetch(`${server.url}/api/v1/main/executions/${runId}`, {
            headers: { authorization: basicAuthorization(server) }
          })
          if (!response.ok) throw new Error(`GET /executions/${runId}: ${response.status} ${await response.text()}`)
          const execution = (await response.json()) as { state: { endDate?: string | null; histories: Array<{ date: string }> } }
          const end = execution.state.endDate ?? execution.state.histories.at(-1)?.date
          if (!end) throw new Error(`Kestra execution ${runId} has no end date`)
          return Date.parse(end)
        },
        settings: 'defaults: wait, logs on (followed by server-sent events), poll-interval 10s'
      },
      server.url
    )
  } finally {
    await server.stop()
  }
}

const started = new Date()
const rows: string[][] = []
if (only !== 'kestra') rows.push(...(await prefect()))
if (only !== 'prefect') rows.push(...(await kestra()))
const load = loadavg()
  .map((value) => value.toFixed(2))
  .join(' ')
const machine = `Node ${process.version}, ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown'}), load ${load} at the end`
const settings = `${repeats} short runs (5–15 s)${stall ? '' : ` and one of ${LONG_RUN_SECONDS} s`} per orchestrator; each Prefect run logs ${LOG_LINES + 2} lines, each Kestra run 2`
console.log(`${machine}; started ${started.toISOString()}; ${settings}${stall ? '; --stall' : ''}\n`)
console.log(`| measure | median | notes |\n| --- | ---: | --- |`)
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
