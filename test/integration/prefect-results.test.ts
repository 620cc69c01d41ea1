import { describe, expect, inject, it } from 'vitest'
import { FlowDispatchError } from '../../src/errors.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import { PrefectClient } from '../../src/prefect/client.js'
import type { PrefectInputs } from '../../src/prefect/inputs.js'
import type { RunResults } from '../../src/results.js'
import { useActionEnvironment } from '../support/env.ts'
import { prefectApi as api } from '../support/prefect-api.ts'
import { printed } from '../support/stdout.ts'
import { uniqueTag } from '../support/unique.ts'
import type { ServerInfo } from './setup.ts'

const open = inject('prefect')
const locked = inject('prefectWithAuth')
const env = useActionEnvironment()
const host = new ActionsHost()
const TERMINAL = ['COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED']

/** A flow run of it-report/it-deployment made through the API, once it has ended; the engine is not involved. */
async function endedRun(server: ServerInfo, parameters: Record<string, unknown>): Promise<{ id: string; state: string }> {
  const deployment = await api<{ id: string }>(server, 'GET', '/deployments/name/it-report/it-deployment')
  const { id } = await api<{ id: string }>(server, 'POST', `/deployments/${deployment.id}/create_flow_run`, {
    parameters,
    tags: [uniqueTag('results')]
  })
  for (const started = Date.now(); Date.now() - started < 90_000; await new Promise((resolve) => setTimeout(resolve, 500))) {
    const run = await api<{ state_type: string }>(server, 'GET', `/flow_runs/${id}`)
    if (TERMINAL.includes(run.state_type)) return { id, state: run.state_type }
  }
  throw new Error(`flow run ${id} of it-report did not end within 90 s`)
}

function client(server: ServerInfo, credentials: Record<string, string> = {}): PrefectClient {
  env.setInputs({ orchestrator: 'prefect', url: server.apiUrl, deployment: 'it-report/it-deployment', ...credentials })
  return new PrefectClient(getInputs(host) as PrefectInputs, { host, origin: {}, userAgent: 'flow-dispatch-test' })
}

/**
 * results() once its three task runs have ended: Prefect 3 records task runs
 * from the events their process sends, which may land a moment after the flow
 * run's own end. Returns how many reads that took too.
 */
async function settledResults(reader: PrefectClient, runId: string): Promise<{ results: RunResults; reads: number }> {
  let results: RunResults | undefined
  let reads = 0
  await printed(async () => {
    for (const started = Date.now(); Date.now() - started < 15_000; await new Promise((resolve) => setTimeout(resolve, 250))) {
      results = await reader.results(runId, Date.now() + 30_000)
      reads++
      if (results.taskRuns.length === 3 && results.taskRuns.every((t) => TERMINAL.includes(t.state))) return
    }
  })
  return { results: results as RunResults, reads }
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/

function expectArtifacts(results: RunResults, failed: boolean): void {
  expect(results.artifacts.map((a) => a.key ?? '(no key)')).toEqual([
    'progress',
    'scores',
    'report',
    'dashboard',
    'pairs',
    'chart',
    'status',
    '(no key)'
  ])
  const [progress, scores, report, dashboard, pairs, chart, status, counts] = results.artifacts
  // Made in the tasks extract and score.
  expect(progress).toMatchObject({ type: 'progress', percent: 75, description: 'Rows extracted' })
  expect(scores).toMatchObject({
    type: 'table',
    description: 'Scores by item',
    columns: ['name', 'score'],
    rows: [
      ['item-0', 0],
      ['item-1', 10],
      ['item-2', 20]
    ]
  })
  expect(report).toMatchObject({ type: 'markdown', description: "The run's report" })
  const markdown = report.type === 'markdown' ? report.markdown : ''
  expect(markdown).toMatch(/^# Nightly report\n\n- rows: 3\n/)
  expect(markdown).toContain(`- failed task: ${failed ? 'True' : 'False'}`)
  expect(markdown).toContain('::set-output name=x::pwned\n::add-mask::x')
  // Prefect's link artifact is a markdown one, `[text](url)`.
  expect(dashboard).toEqual({
    key: 'dashboard',
    created: expect.stringMatching(ISO),
    type: 'link',
    url: 'https://example.com/dashboard',
    text: 'Dashboard'
  })
  expect(pairs).toMatchObject({
    type: 'table',
    columns: ['0', '1'],
    rows: [
      ['a', 1],
      ['b', 2]
    ]
  })
  expect(chart).toMatchObject({ type: 'image', url: 'https://example.com/chart.png' })
  // Written twice: only the second version.
  expect(status).toMatchObject({ type: 'markdown', markdown: 'final', description: 'Second version' })
  expect(counts).toMatchObject({
    type: 'table',
    description: 'Counts, no key',
    columns: ['metric', 'value'],
    rows: [
      ['rows', 3],
      ['failed', failed ? 1 : 0]
    ]
  })
  const created = results.artifacts.slice(0, -1).map((a) => Date.parse(a.created ?? ''))
  expect(created).toEqual([...created].sort((a, b) => a - b))
  expect(results.omitted).toEqual({ artifacts: 0, taskRuns: 0 })
}

function expectTaskRuns(results: RunResults, checkState: 'COMPLETED' | 'FAILED'): void {
  expect(results.taskRuns.map((t) => [t.name.replace(/-[0-9a-f]+$/, ''), t.state, t.phase])).toEqual([
    ['extract', 'COMPLETED', 'succeeded'],
    ['score', 'COMPLETED', 'succeeded'],
    ['check', checkState, checkState === 'FAILED' ? 'failed' : 'succeeded']
  ])
  for (const task of results.taskRuns) {
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(task.stateName).toBe(checkState === 'FAILED' && task.name.startsWith('check') ? 'Failed' : 'Completed')
    expect(task.start).toMatch(ISO)
    expect(task.end).toMatch(ISO)
    expect(Date.parse(task.end ?? '')).toBeGreaterThanOrEqual(Date.parse(task.start ?? ''))
    expect(task.seconds).toBeGreaterThanOrEqual(0)
    expect(task.seconds).toBeLessThan(30)
  }
  const starts = results.taskRuns.map((t) => Date.parse(t.start ?? ''))
  expect(starts).toEqual([...starts].sort((a, b) => a - b))
}

describe('Prefect results, against a real server and the served it-report flow', () => {
  it.each([
    ['reads the artifacts (every type, the newest version of a key, those made in tasks) and the three task runs', false],
    ['shows the task that failed as FAILED, the run failed, the other tasks and the artifacts as usual', true]
  ])('%s', async (_, failTask) => {
    const state = failTask ? 'FAILED' : 'COMPLETED'
    const run = await endedRun(open, failTask ? { fail_task: true } : {})
    expect(run.state).toBe(state)
    const { results, reads } = await settledResults(client(open), run.id)
    console.log(`results of a ${state} it-report run: settled after ${reads} read(s)`)
    expectArtifacts(results, failTask)
    expectTaskRuns(results, state)
  })

  it("reads a locked server's with the credentials, and throws a FlowDispatchError without them", async () => {
    const run = await endedRun(locked, {})
    const [username, password] = (locked.authString ?? ':').split(':')
    const { results } = await settledResults(client(locked, { username, password }), run.id)
    expectTaskRuns(results, 'COMPLETED')
    expect(results.artifacts).toHaveLength(8)
    // Empty, as the inputs of a step that sets none: the ones set above would stay otherwise.
    const error = await client(locked, { username: '', password: '' })
      .results(run.id, Date.now() + 30_000)
      .then(
        () => undefined,
        (e: unknown) => e
      )
    expect(error).toBeInstanceOf(FlowDispatchError)
    expect(error).toMatchObject({ kind: 'auth', message: expect.stringContaining('refused the credentials (401') })
  })
})
