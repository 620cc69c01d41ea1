import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { type ActionResult, runAction } from '../support/action.ts'
import { explain } from '../support/explain.ts'
import { type Fault, type FaultProxy, type ProxiedRequest, startFaultProxy } from '../support/fault-proxy.ts'
import { type PrefectServer, prefectVenv, serveFlow, startPrefectServer } from '../support/prefect.ts'
import { prefectApi } from '../support/prefect-api.ts'
import type { Background } from '../support/processes.ts'
import type { ServerInfo } from './setup.ts'

/**
 * How the action waits on real Prefect servers through their streams
 * (`/events/out`, `/logs/out`): healthy, refused, dropped, stalled, and a
 * server restarted under it. The shared server with basic auth streams logs
 * (as Prefect Cloud does); the open one does not (a default self-hosted server).
 */

const open = inject('prefect')
const locked = inject('prefectWithAuth')

interface TimedRun {
  state_type: string
  start_time: string | null
  end_time: string | null
}

const credentials = (server: ServerInfo): Record<string, string> => {
  if (!server.authString) return {}
  const [username, password] = server.authString.split(':')
  return { username, password }
}

const inputs = (server: ServerInfo, url: string, parameters: Record<string, unknown>, extra: Record<string, string> = {}) => ({
  orchestrator: 'prefect',
  url,
  ...credentials(server),
  deployment: 'it-flow/it-deployment',
  parameters: JSON.stringify(parameters),
  timeout: '3m',
  ...extra
})

/** The states the step printed, in order: `2026-…Z  RUNNING (Running)`. Heartbeats (`still RUNNING`) are not states. */
function printedStates(stdout: string): string[] {
  return [...stdout.matchAll(/^\S+Z {2}([A-Z]+) \(([^)]*)\)/gm)].map((m) => `${m[1]} (${m[2]})`)
}

/** How often each numbered line `line 0000k of n` was printed, k = 0..n-1. */
function lineCounts(stdout: string, n: number): number[] {
  const counts = Array.from({ length: n }, () => 0)
  for (const m of stdout.matchAll(new RegExp(` INFO {5}line (\\d{5}) of ${n}$`, 'gm'))) counts[Number(m[1])]++
  return counts
}

/** The printed order of the numbered lines. */
function lineOrder(stdout: string, n: number): number[] {
  return [...stdout.matchAll(new RegExp(` INFO {5}line (\\d{5}) of ${n}$`, 'gm'))].map((m) => Number(m[1]))
}

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1
}

const isUpgrade = (path: string) => (r: ProxiedRequest) => r.upgrade && r.path.endsWith(path)
const isStateRead = (runId: string) => (r: ProxiedRequest) => r.method === 'GET' && r.path.endsWith(`/flow_runs/${runId}`)
const isLogRead = (r: ProxiedRequest) => r.method === 'POST' && r.path.endsWith('/logs/filter')

/** The request log, for a failure message and for the figures in the report. */
function timeline(requests: ProxiedRequest[], from: number): string {
  return requests
    .map((r) => `${((r.at - from) / 1000).toFixed(1).padStart(6)} s ${r.upgrade ? 'UPGRADE ' : ''}${r.method} ${r.path} [${r.fault.kind}]`)
    .join('\n')
}

/**
 * The run's states as the server holds them, oldest first, as the step prints them. A served run goes
 * SCHEDULED, PENDING (Pending), PENDING (Submitting), RUNNING, then its end: Prefect 3.8's runner proposes
 * Pending, then its engine Submitting, two states of one type that a stream pushes both of.
 */
async function history(server: ServerInfo, runId: string): Promise<string[]> {
  const states = await prefectApi<Array<{ type: string; name: string; timestamp: string }>>(
    server,
    'GET',
    `/flow_run_states/?flow_run_id=${runId}`
  )
  return states.sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp)).map((state) => `${state.type} (${state.name})`)
}

/** Whether `part` is `whole` with some items left out, the order kept: what polling sees of a run's states. */
function isSubsequence(part: string[], whole: string[]): boolean {
  let i = 0
  for (const item of whole) if (i < part.length && part[i] === item) i++
  return i === part.length
}

/** The printed states: each once, in the server's order; all of them with a live stream, some when polled. */
async function expectStates(server: ServerInfo, result: ActionResult, streamed: boolean, end = 'COMPLETED (Completed)'): Promise<void> {
  const printed = printedStates(result.stdout)
  const held = await history(server, result.outputs['run-id'])
  if (streamed) expect(printed).toEqual(held)
  else expect(isSubsequence(printed, held), `printed ${printed.join(', ')}; held ${held.join(', ')}`).toBe(true)
  expect(new Set(printed).size, printed.join(', ')).toBe(printed.length)
  expect(printed[0]).toBe('SCHEDULED (Scheduled)')
  expect(printed.filter((state) => state === 'RUNNING (Running)')).toHaveLength(1)
  expect(printed.at(-1)).toBe(end)
  const types = [...new Set(printed.map((state) => state.split(' ')[0]))]
  // Polling sees a state only if it lasts until a read: a served run is PENDING for about a second, which a read every 2 s can miss.
  if (streamed) expect(types).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', end.split(' ')[0]])
  else expect(types.filter((type) => type !== 'PENDING')).toEqual(['SCHEDULED', 'RUNNING', end.split(' ')[0]])
}

async function runOf(server: ServerInfo, result: ActionResult): Promise<TimedRun> {
  return prefectApi<TimedRun>(server, 'GET', `/flow_runs/${result.outputs['run-id']}`)
}

/** Runs the action through a fault proxy that gives each request the fault `plan` names; the proxy is closed after. */
async function throughProxy(
  server: ServerInfo,
  plan: (request: { path: string; upgrade: boolean; index: number }) => Fault,
  parameters: Record<string, unknown>,
  extra: Record<string, string> = {}
): Promise<{ result: ActionResult; proxy: FaultProxy; started: number; exited: number }> {
  const proxy = await startFaultProxy(server.apiUrl, plan)
  try {
    const started = Date.now()
    const result = await runAction(inputs(server, proxy.url, parameters, extra))
    return { result, proxy, started, exited: Date.now() }
  } finally {
    await proxy.close()
  }
}

const pass: Fault = { kind: 'pass' }

describe('Prefect streams, against real servers', () => {
  it('healthy streams: each state once and in order, each line once, the end seen at once, and almost no reads while the run sleeps', {
    timeout: 150_000
  }, async () => {
    const { result, proxy, started, exited } = await throughProxy(
      locked,
      () => pass,
      { lines: 5, sleep_seconds: 40 },
      { 'poll-interval': '5s' }
    )
    const requests = proxy.requests
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED', 'state-name': 'Completed' })
    await expectStates(locked, result, true)
    expect(lineCounts(result.stdout, 5)).toEqual([1, 1, 1, 1, 1])
    expect(lineOrder(result.stdout, 5)).toEqual([0, 1, 2, 3, 4])
    expect(occurrences(result.stdout, 'Finished in state Completed()')).toBe(1)
    expect(result.stdout).not.toContain('Not using')

    const run = await runOf(locked, result)
    const startTime = Date.parse(run.start_time ?? '')
    const endTime = Date.parse(run.end_time ?? '')
    const log = timeline(requests, started)
    console.log(`healthy streams: exit ${exited - endTime} ms after end_time; requests:\n${log}`)
    // Pushed end, one read to confirm it, the closing line pushed about a second after the end, one last log read.
    expect(exited - endTime, log).toBeLessThan(3_000)
    // Each stream opened once and stayed open.
    expect(requests.filter(isUpgrade('/events/out')), log).toHaveLength(1)
    expect(requests.filter(isUpgrade('/logs/out')), log).toHaveLength(1)
    // While the flow sleeps (from 3 s after it started, when its lines have been shipped, to its end) nothing is
    // news: the live state stream leaves only the safety read, once every 30 s (max(30 s, poll-interval 5 s)), so
    // at most 2 in a window under 40 s; polling would have read the state 7 times. The log stream proved itself
    // with the first line: Prefect publishes a line to its stream before it commits it (models/logs.py
    // create_logs: insert, publish_logs, then the commit), so no read can find a line before the stream brings it,
    // and the log is not read again until the end.
    const sleeping = requests.filter((r) => r.at > startTime + 3_000 && r.at < endTime)
    expect(sleeping.filter(isStateRead(result.outputs['run-id'])).length, log).toBeLessThanOrEqual(2)
    expect(sleeping.filter(isLogRead), log).toHaveLength(0)
    expect(sleeping.length, log).toBeLessThanOrEqual(2)
  })

  it('healthy streams: a failed run ends FAILED, outcome failure, with the exception line printed', { timeout: 90_000 }, async () => {
    const result = await runAction(inputs(locked, locked.apiUrl, { outcome: 'fail', message: 'boom-streams', lines: 2 }))
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'failed', state: 'FAILED', 'state-name': 'Failed' })
    await expectStates(locked, result, true, 'FAILED (Failed)')
    expect(lineCounts(result.stdout, 2)).toEqual([1, 1])
    expect(occurrences(result.stdout, 'RuntimeError: failing on purpose: boom-streams')).toBeGreaterThanOrEqual(1)
    expect(occurrences(result.stdout, 'Finished in state Failed(')).toBe(1)
    expect(result.stdout).not.toContain('Not using')
  })

  it('streams that never open (every upgrade refused): told once each, the run followed by polling to its end', {
    timeout: 90_000
  }, async () => {
    const { result, proxy, started } = await throughProxy(
      open,
      (r) => (r.upgrade ? { kind: 'status', status: 403 } : pass),
      { lines: 5, sleep_seconds: 6 },
      { 'poll-interval': '2s' }
    )
    const log = timeline(proxy.requests, started)
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED' })
    const runId = result.outputs['run-id']
    expect(occurrences(result.stdout, 'Not using the event stream')).toBe(1)
    expect(occurrences(result.stdout, 'Not using the log stream')).toBe(1)
    expect(result.stdout).toContain(`Not using the event stream of flow run ${runId}: it did not open`)
    expect(result.stdout).toContain('reading its state every 2s instead')
    expect(result.stdout).toContain(`Not using the log stream of flow run ${runId}: it did not open`)
    await expectStates(open, result, false)
    expect(lineCounts(result.stdout, 5)).toEqual([1, 1, 1, 1, 1])
    expect(occurrences(result.stdout, 'Finished in state Completed()')).toBe(1)
    // Three attempts each before giving up, then polling: the state read every 2 s for a run of 6 s and more.
    expect(proxy.requests.filter(isUpgrade('/events/out')), log).toHaveLength(3)
    expect(proxy.requests.filter(isUpgrade('/logs/out')), log).toHaveLength(3)
    expect(proxy.requests.filter(isStateRead(runId)).length, log).toBeGreaterThanOrEqual(4)
    expect(proxy.requests.filter(isLogRead).length, log).toBeGreaterThanOrEqual(4)
  })

  it('a state stream dropped mid-run is opened again, and nothing is printed twice', { timeout: 90_000 }, async () => {
    let eventSockets = 0
    const { result, proxy, started } = await throughProxy(
      locked,
      (r) => (r.upgrade && r.path.endsWith('/events/out') && eventSockets++ === 0 ? { kind: 'drop-after', afterMs: 3_000 } : pass),
      { lines: 5, sleep_seconds: 8 },
      { 'poll-interval': '5s' }
    )
    const log = timeline(proxy.requests, started)
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED' })
    const upgrades = proxy.requests.filter(isUpgrade('/events/out'))
    expect(upgrades.length, log).toBeGreaterThanOrEqual(2)
    expect(upgrades[0].fault.kind).toBe('drop-after')
    expect(occurrences(result.stdout, `The event stream of flow run ${result.outputs['run-id']} dropped`)).toBe(1)
    expect(result.stdout).not.toContain('Not using')
    await expectStates(locked, result, true)
    expect(lineCounts(result.stdout, 5)).toEqual([1, 1, 1, 1, 1])
    expect(occurrences(result.stdout, 'Finished in state Completed()')).toBe(1)
  })

  // The stall begins 2.5 s after each upgrade: time for the auth exchange and the filter, so the streams are live
  // (a stall from the first byte would never open them, and the wait would simply poll). Then nothing passes either
  // way: the sockets look open and say nothing, which only the safety read (every 30 s) can find out.
  it('stalled streams: the safety read finds the end, within 30 s + 10 s of it, nothing printed twice', { timeout: 120_000 }, async () => {
    const { result, proxy, started, exited } = await throughProxy(
      locked,
      (r) => (r.upgrade && (r.path.endsWith('/events/out') || r.path.endsWith('/logs/out')) ? { kind: 'stall', afterMs: 2_500 } : pass),
      { lines: 5, sleep_seconds: 10 },
      { 'poll-interval': '5s' }
    )
    const log = timeline(proxy.requests, started)
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED' })
    const runId = result.outputs['run-id']
    const run = await runOf(locked, result)
    const endTime = Date.parse(run.end_time ?? '')
    console.log(`stalled streams: exit ${exited - endTime} ms after end_time; requests:\n${log}`)
    expect(exited - endTime, log).toBeLessThan(40_000)
    // The state stream stayed "live": once it opened (and the run was read for what it may have missed), the state
    // was not polled every 5 s but read at the safety interval only, and that read found the end.
    const opened = proxy.requests.find(isUpgrade('/events/out'))?.at ?? started
    const reads = [opened, ...proxy.requests.filter((r) => isStateRead(runId)(r) && r.at > opened + 3_000).map((r) => r.at)]
    expect(reads.length, log).toBeGreaterThanOrEqual(2)
    for (let i = 1; i < reads.length; i++) expect(reads[i] - reads[i - 1], log).toBeGreaterThan(25_000)
    // The stalled log stream never proved it carries the log: the log was read each poll instead.
    expect(proxy.requests.filter((r) => isLogRead(r) && r.at < endTime).length, log).toBeGreaterThanOrEqual(3)
    expect(result.stdout).not.toContain('Not using')
    await expectStates(locked, result, false)
    expect(lineCounts(result.stdout, 5)).toEqual([1, 1, 1, 1, 1])
    expect(occurrences(result.stdout, 'Finished in state Completed()')).toBe(1)
  })
})

describe('Prefect streams: the server restarted during the wait', () => {
  const venv = prefectVenv()
  let server: PrefectServer
  let serve: Background

  beforeAll(async () => {
    server = await startPrefectServer(venv, { streamLogs: true })
    serve = await serveFlow(venv, server, 'restart-deployment')
  }, 240_000)

  afterAll(async () => {
    await serve?.stop()
    await server?.stop()
  }, 60_000)

  it('follows the run to its real end across the outage, without failing and without printing anything twice', {
    timeout: 180_000
  }, async () => {
    let restarting: Promise<void> | undefined
    let restartedAt = 0
    let backAt = 0
    const started = Date.now()
    const result = await runAction(
      {
        orchestrator: 'prefect',
        url: server.apiUrl,
        deployment: 'it-flow/restart-deployment',
        parameters: JSON.stringify({ lines: 5, sleep_seconds: 20 }),
        'poll-interval': '2s',
        timeout: '3m'
      },
      {},
      {
        // Once the flow's lines are in (it writes them at its start, then sleeps 20 s): the server goes away under it.
        // Lines the flow ships while the server is down are lost by Prefect (seen on 3.8.8: an outage from RUNNING on
        // left the run's log with only its closing line), so the outage comes after them: this is about the action.
        watch: (stdout) => {
          if (restarting || !stdout.includes('line 00004 of 5')) return
          restartedAt = Date.now()
          restarting = server.restart().then(() => {
            backAt = Date.now()
          })
        }
      }
    )
    await restarting
    const info = { apiUrl: server.apiUrl, headers: server.headers }
    const run = await prefectApi<TimedRun>(info, 'GET', `/flow_runs/${result.outputs['run-id']}`)
    const endTime = Date.parse(run.end_time ?? '')
    console.log(
      `restart: server stopped ${((restartedAt - started) / 1000).toFixed(1)} s into the step, back after ${((backAt - restartedAt) / 1000).toFixed(1)} s; ` +
        `run ended ${run.state_type} ${((endTime - backAt) / 1000).toFixed(1)} s after that; step exited ${(result.elapsedMs / 1000).toFixed(1)} s in`
    )
    expect(restartedAt, 'the server was restarted').toBeGreaterThan(0)
    // The served flow's process outlived the outage and reported its end to the restarted server.
    expect(run.state_type).toBe('COMPLETED')
    expect(endTime).toBeGreaterThan(backAt)
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED', 'state-name': 'Completed' })
    expect(result.stdout).not.toMatch(/^::(error|warning)/m)
    expect(result.stdout).not.toContain('Stopped following the log')
    await expectStates(info, result, false)
    // Every line the server holds for the run, printed once: nothing lost to the outage, nothing repeated after it.
    const held = await prefectApi<Array<{ message: string }>>(info, 'POST', '/logs/filter', {
      logs: { flow_run_id: { any_: [result.outputs['run-id']] } }
    })
    for (const { message } of held) expect(occurrences(result.stdout, ` ${message.split('\n')[0]}`), message).toBeGreaterThanOrEqual(1)
    expect(lineCounts(result.stdout, 5)).toEqual([1, 1, 1, 1, 1])
    expect(occurrences(result.stdout, 'Finished in state Completed()')).toBe(1)
  })
})
