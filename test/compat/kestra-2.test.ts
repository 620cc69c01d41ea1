import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runAction } from '../support/action.ts'
import { basicAuthorization } from '../support/basic-auth.ts'
import { explain } from '../support/explain.ts'
import { type Fault, startFaultProxy } from '../support/fault-proxy.ts'
import { deployFlows, type KestraServer, startKestraServer } from '../support/kestra.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { uniqueRunId, uniqueTag } from '../support/unique.ts'

/**
 * The smoke set on Kestra 2.0 (shared/kestra-server-2.0: the released 2.0.0 engine, a REST layer built from
 * 2.0.0-SNAPSHOT source), the bundle run as the runner runs it: typed inputs, success, failure, a timeout that
 * kills, the log, the flow outputs (their own endpoint on this server), a create whose answer is lost, run-id.
 */

const FLOWS = join(dirname(fileURLToPath(import.meta.url)), 'kestra-2', 'flows.yml')
const proxy = closedAfterEach(startFaultProxy)

let server: KestraServer

beforeAll(async () => {
  if (!existsSync(`${process.env.FLOW_DISPATCH_DIST ?? 'dist'}/index.js`))
    throw new Error("dist/index.js is missing: run 'npm run bundle' first")
  server = await startKestraServer({ version: '2.0' })
  console.log(`Kestra 2.0 server ready at ${server.url} in ${(server.startMs / 1000).toFixed(1)} s (log: ${server.logFile})`)
  await deployFlows(server, FLOWS)
})

afterAll(async () => {
  await server?.stop()
})

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${server.url}/api/v1/main${path}`, {
    ...init,
    headers: { authorization: basicAuthorization(server), ...init.headers }
  })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

interface Execution {
  id: string
  inputs: Record<string, unknown>
  outputs?: unknown
  state: { current: string }
}

/** Executions of the namespace labelled test=<tag>, once a new one has had time to show in a search. */
async function tagged(tag: string): Promise<Execution[]> {
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const query = new URLSearchParams({ 'filters[namespace][EQUALS]': 'compat', 'filters[labels][EQUALS][test]': tag, size: '10' })
  return (await api<{ results: Execution[] }>(`/executions/search?${query}`)).results
}

const base = (flow: string, tag: string, url = server.url) => ({
  orchestrator: 'kestra',
  url,
  username: server.username,
  password: server.password,
  namespace: 'compat',
  flow,
  labels: `test=${tag}`,
  'poll-interval': '1s'
})

/** The parameters of every required input of `typed`, and some optional ones. */
const PARAMETERS = [
  'user: John Doe',
  'retries: 3',
  'dry: true',
  'config: {mode: full}',
  'ratio: 0.25',
  'day: 2026-11-22',
  'ids: [1, 2]'
].join('\n')

describe('Kestra 2.0 (smoke), against the 2.0 server of shared/kestra-server-2.0', () => {
  it('runs with typed parameters (a BOOL among them) and a file, prints the log, and sets the outputs and the task runs', async () => {
    const tag = uniqueTag('k2')
    const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-files-'))
    writeFileSync(join(dir, 'r.csv'), 'a,b\n')
    // Through a proxy that passes everything, to see which streams the step followed.
    const via = await proxy(server.url, () => ({ kind: 'pass' }))
    const result = await runAction(
      { ...base('typed', tag, via.url), parameters: PARAMETERS, files: 'report=r.csv' },
      { GITHUB_WORKSPACE: dir, GITHUB_RUN_ID: uniqueRunId(), RUNNER_DEBUG: '1' }
    )
    expect(result.code, explain(result)).toBe(0)
    const id = result.outputs['run-id']
    // Both of 2.0's event streams were followed, once each, and neither was given up for reads.
    expect(via.requests.filter((r) => r.path === `/api/v1/main/executions/${id}/follow`)).toHaveLength(1)
    expect(via.requests.filter((r) => r.path === `/api/v1/main/logs/${id}/follow`)).toHaveLength(1)
    expect(result.stdout).not.toMatch(/Not using|dropped|did not open|No log stream/)
    expect(result.stdout).toContain(`is version 2.0.0`)
    expect(result.outputs).toMatchObject({ state: 'SUCCESS', outcome: 'success' })
    // 2.0's execution has no outputs: they come from GET /outputs/executions/{id}.
    expect(JSON.parse(result.outputs.outputs)).toEqual({ user: 'John Doe', retries: 3, dry: true, config: { mode: 'full' } })
    expect(result.stdout).toContain('Hello John Doe, dry=true')
    expect(result.stdout).toContain('Bye John Doe')
    const tasks = JSON.parse(result.outputs['task-runs']) as Array<{ name: string; state: string }>
    expect(tasks.map((task) => [task.name, task.state])).toEqual([
      ['hello', 'SUCCESS'],
      ['bye', 'SUCCESS']
    ])
    const held = await api<Execution>(`/executions/${id}`)
    expect(held.outputs).toBeUndefined()
    expect(held.inputs).toEqual({
      user: 'John Doe',
      retries: 3,
      dry: true,
      config: { mode: 'full' },
      mode: 'full',
      ratio: 0.25,
      day: '2026-11-22',
      ids: [1, 2],
      report: expect.stringMatching(/^kestra:\/\/\/compat\/typed\/executions\/\w+\/inputs\/report\/r\.csv$/)
    })
  })

  it("shows Kestra's reason for a value the flow's constraint refuses, on create and in a dry run, and creates nothing", async () => {
    const tag = uniqueTag('k2')
    const parameters = PARAMETERS.replace('retries: 3', 'retries: 30')
    const job = { GITHUB_RUN_ID: uniqueRunId() }
    const created = await runAction({ ...base('typed', tag), parameters }, job)
    expect(created.code, explain(created)).toBe(1)
    expect(created.stdout).toMatch(
      /rejected the request to execute flow 'typed' in namespace 'compat' \(422\): Invalid entity: Invalid value for input `retries`\. Cause: .*10/
    )
    const dry = await runAction({ ...base('typed', tag), parameters, 'dry-run': 'true' }, job)
    expect(dry.code, explain(dry)).toBe(1)
    expect(dry.stdout).toMatch(
      /::error::Input 'parameters' does not fit flow 'typed' in namespace 'compat': 'retries': Invalid value for input `retries`/
    )
    expect(await tagged(tag)).toEqual([])
  })

  it('fails the step when the flow fails', async () => {
    const result = await runAction(base('fails', uniqueTag('k2')), { GITHUB_RUN_ID: uniqueRunId() })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ state: 'FAILED', outcome: 'failed' })
    expect(result.stdout).toContain('failing on purpose')
  })

  it('times out a flow that runs too long and kills it (DELETE .../actions/kill): it ends KILLED', async () => {
    const result = await runAction({ ...base('sleeps', uniqueTag('k2')), timeout: '8s' }, { GITHUB_RUN_ID: uniqueRunId() })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'timed-out', state: 'KILLED' })
    expect(result.stdout).toContain('Kestra accepted the kill of execution')
    expect(result.stdout).toMatch(/did not end within the timeout of 8s; it was RUNNING \(RUNNING\) and was cancelled: it ended KILLED/)
    expect((await api<Execution>(`/executions/${result.outputs['run-id']}`)).state.current).toBe('KILLED')
  })

  it('makes one execution when the answer to the create is lost, and follows it', async () => {
    const tag = uniqueTag('k2')
    let dropped = false
    const via = await proxy(server.url, (request): Fault => {
      if (dropped || request.method !== 'POST' || !request.path.startsWith('/api/v1/main/executions/compat/')) return { kind: 'pass' }
      dropped = true
      return { kind: 'drop-after' }
    })
    const result = await runAction({ ...base('hello', tag, via.url), timeout: '90s' }, { GITHUB_RUN_ID: uniqueRunId() })
    expect(result.code, explain(result)).toBe(0)
    expect(dropped).toBe(true)
    const found = await tagged(tag)
    expect(found.map((execution) => execution.id)).toEqual([result.outputs['run-id']])
    expect(result.stdout).toContain('hello from 2.0')
  })

  it('follows an execution by run-id, outputs included', async () => {
    const job = { GITHUB_RUN_ID: uniqueRunId() }
    const first = await runAction({ ...base('typed', uniqueTag('k2')), parameters: PARAMETERS, wait: 'false' }, job)
    expect(first.code, explain(first)).toBe(0)
    // run-id refuses what only shapes a new run: labels among them.
    const { labels: _, ...common } = base('typed', '')
    const second = await runAction({ ...common, 'run-id': first.outputs['run-id'] }, job)
    expect(second.code, explain(second)).toBe(0)
    expect(second.outputs).toMatchObject({ 'run-id': first.outputs['run-id'], state: 'SUCCESS' })
    expect(JSON.parse(second.outputs.outputs)).toMatchObject({ user: 'John Doe', dry: true })
  })
})
