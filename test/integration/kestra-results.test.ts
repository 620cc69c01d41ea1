import { describe, expect, inject, it } from 'vitest'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import { KestraClient } from '../../src/kestra/client.js'
import type { KestraInputs } from '../../src/kestra/inputs.js'
import { basicAuthorization } from '../support/basic-auth.ts'
import { useActionEnvironment } from '../support/env.ts'

const kestra = inject('kestra')
const basic = basicAuthorization(kestra)
const env = useActionEnvironment()

interface Execution {
  id: string
  state: { current: string }
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${kestra.url}/api/v1/main${path}`, { ...init, headers: { authorization: basic, ...init.headers } })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** Executes the `report` flow through Kestra's API, not the action, and reads it until it has ended. */
async function executeReport(fail: boolean): Promise<Execution> {
  const form = new FormData()
  form.append('fail', String(fail))
  const created = await api<Execution>('/executions/dev/report', { method: 'POST', body: form })
  const deadline = Date.now() + 60_000
  for (;;) {
    const found = await api<Execution>(`/executions/${created.id}`)
    if (['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED'].includes(found.state.current)) return found
    if (Date.now() > deadline) throw new Error(`execution ${created.id} is still ${found.state.current} after 60 s`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

function client(): KestraClient {
  env.setInputs({
    orchestrator: 'kestra',
    url: kestra.url,
    username: kestra.username,
    password: kestra.password,
    namespace: 'dev',
    flow: 'report'
  })
  // Where the run came from plays no part in reading what it produced.
  const origin = {}
  const host = new ActionsHost()
  return new KestraClient(getInputs(host) as KestraInputs, { host, origin, userAgent: 'flow-dispatch-tests' })
}

const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)

describe('Kestra results, against a real Kestra OSS 1.3 server', () => {
  it("reads an execution's three task runs in the order they ran, each with its state, start, end and run time", async () => {
    const execution = await executeReport(false)
    expect(execution.state.current).toBe('SUCCESS')
    const results = await client().results(execution.id, Date.now() + 30_000)
    expect(results.artifacts).toEqual([])
    expect(results.omitted).toEqual({ artifacts: 0, taskRuns: 0 })
    const { taskRuns } = results
    expect(taskRuns.map(({ name, state, phase }) => ({ name, state, phase }))).toEqual(
      ['greet', 'work', 'finish'].map((name) => ({ name, state: 'SUCCESS', phase: 'succeeded' }))
    )
    for (const run of taskRuns) {
      expect(run).toMatchObject({ id: expect.stringMatching(/^\w{10,}$/), start: iso, end: iso, seconds: expect.any(Number) })
      expect(Date.parse(run.end ?? '') - Date.parse(run.start ?? '')).toBe(Math.round((run.seconds ?? Number.NaN) * 1000))
    }
    // The flow's Sleep lasts a second; each task starts once the one before it has ended.
    expect(taskRuns[1].seconds).toBeGreaterThanOrEqual(1)
    expect(taskRuns[1].seconds).toBeLessThan(10)
    for (const [before, after] of [
      [taskRuns[0], taskRuns[1]],
      [taskRuns[1], taskRuns[2]]
    ]) {
      expect(Date.parse(after.start ?? '')).toBeGreaterThanOrEqual(Date.parse(before.end ?? ''))
    }
  })

  it('shows the task that failed the execution as failed, after the two that succeeded', async () => {
    const execution = await executeReport(true)
    expect(execution.state.current).toBe('FAILED')
    const { taskRuns } = await client().results(execution.id, Date.now() + 30_000)
    expect(taskRuns.map(({ name, state, phase, start, end }) => ({ name, state, phase, start, end }))).toEqual([
      { name: 'greet', state: 'SUCCESS', phase: 'succeeded', start: iso, end: iso },
      { name: 'work', state: 'SUCCESS', phase: 'succeeded', start: iso, end: iso },
      { name: 'finish', state: 'FAILED', phase: 'failed', start: iso, end: iso }
    ])
  })

  it('says an execution the server does not have is gone', async () => {
    await expect(client().results('noSuchExecution0000000', Date.now() + 30_000)).rejects.toThrow(
      'has no execution noSuchExecution0000000: it was deleted'
    )
  })
})
