import { describe, expect, inject, it } from 'vitest'
import { runAction } from '../support/action.ts'
import { explain } from '../support/explain.ts'
import { type FlowRun, flowRunsTagged, prefectApi as api } from '../support/prefect-api.ts'
import { uniqueRunId, uniqueTag } from '../support/unique.ts'

const prefect = inject('prefect')
const kestra = inject('kestra')

const prefectBase = { orchestrator: 'prefect', url: prefect.apiUrl, deployment: 'it-flow/it-deployment', 'poll-interval': '2s' }

/** Two steps of one job: the same GitHub run, so that what differs between them is only what the inputs say. */
const job = { GITHUB_RUN_ID: uniqueRunId() }

describe('run-id against a real Prefect server', () => {
  it('follows a run an earlier wait: false step created to its end: its log, outputs and summary, and no second run', async () => {
    const tag = uniqueTag('attach')
    const first = await runAction(
      { ...prefectBase, tags: tag, wait: 'false', parameters: 'message: attached-and-followed\nsleep_seconds: 4' },
      { ...job, GITHUB_ACTION: 'start' }
    )
    expect(first.code, explain(first)).toBe(0)
    expect(first.outputs.outcome).toBe('triggered')
    const runId = first.outputs['run-id']

    const second = await runAction({ ...prefectBase, 'run-id': runId }, { ...job, GITHUB_ACTION: 'follow' })
    expect(second.code, explain(second)).toBe(0)
    expect(second.outputs).toMatchObject({ 'run-id': runId, 'run-name': first.outputs['run-name'], outcome: 'success', state: 'COMPLETED' })
    expect(second.stdout).toContain(`Following Prefect run '${first.outputs['run-name']}' (${runId}), which run-id names`)
    // The run's own log, from its first line, though it began before this step did.
    expect(second.stdout).toContain('attached-and-followed')
    expect(second.summary).toContain('Prefect run: success')
    expect(await flowRunsTagged(prefect, tag)).toHaveLength(1)
  })

  it('follows a failed run to FAILED, failing the step', async () => {
    const first = await runAction({ ...prefectBase, wait: 'false', parameters: 'outcome: fail' }, job)
    const second = await runAction({ ...prefectBase, 'run-id': first.outputs['run-id'] }, job)
    expect(second.code, explain(second)).toBe(1)
    expect(second.outputs).toMatchObject({ outcome: 'failed', state: 'FAILED', 'run-id': first.outputs['run-id'] })
  })

  it('leaves a run it did not create going when its timeout passes, unless cancel-on says otherwise', async () => {
    const first = await runAction({ ...prefectBase, wait: 'false', parameters: 'sleep_seconds: 120' }, job)
    const runId = first.outputs['run-id']
    try {
      const second = await runAction({ ...prefectBase, 'run-id': runId, timeout: '8s', 'poll-interval': '1s' }, job)
      expect(second.code, explain(second)).toBe(1)
      expect(second.outputs.outcome).toBe('timed-out')
      expect(second.stdout).toContain('may still be going (cancel-on leaves timeouts out)')
      expect((await api<FlowRun>(prefect, 'GET', `/flow_runs/${runId}`)).state_type).toMatch(/^(SCHEDULED|PENDING|RUNNING)$/)

      const third = await runAction({ ...prefectBase, 'run-id': runId, timeout: '5s', 'poll-interval': '1s', 'cancel-on': 'timeout' }, job)
      expect(third.outputs.outcome, explain(third)).toBe('timed-out')
      expect(third.outputs.state).toMatch(/^CANCELL(ING|ED)$/)
    } finally {
      await api(prefect, 'POST', `/flow_runs/${runId}/set_state`, { state: { type: 'CANCELLED', name: 'Cancelled' }, force: true })
    }
  })

  it('refuses a run of another deployment before waiting, and leaves it as it was', async () => {
    const flow = await api<{ flow_id: string }>(prefect, 'GET', '/deployments/name/it-flow/it-deployment')
    const other = await api<{ id: string }>(prefect, 'POST', '/deployments/', {
      name: `attach-other-${uniqueTag('d')}`,
      flow_id: flow.flow_id
    })
    const foreign = await api<FlowRun>(prefect, 'POST', `/deployments/${other.id}/create_flow_run`, {})
    try {
      const result = await runAction({ ...prefectBase, 'run-id': foreign.id, 'cancel-on': 'both' }, job)
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs).toEqual({ outcome: 'error' })
      expect(result.stdout).toContain(`Flow run ${foreign.id} is not a run of deployment 'it-flow/it-deployment'`)
      expect(result.stdout).toContain(`it belongs to deployment ${other.id}`)
      expect((await api<FlowRun>(prefect, 'GET', `/flow_runs/${foreign.id}`)).state_type).toBe('SCHEDULED')
    } finally {
      await api(prefect, 'DELETE', `/deployments/${other.id}`)
    }
  })

  it('says so when the run does not exist, before waiting', async () => {
    const missing = '0d7f8a2e-5b1c-4c3e-9f10-2a4b6c8d0e12'
    const result = await runAction({ ...prefectBase, 'run-id': missing }, job)
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toEqual({ outcome: 'error' })
    expect(result.stdout).toContain(`has no flow run ${missing}: check input 'run-id'`)
  })

  it('refuses an input that would shape a new run, sending nothing', async () => {
    const result = await runAction({ ...prefectBase, 'run-id': '0d7f8a2e-5b1c-4c3e-9f10-2a4b6c8d0e12', parameters: 'count: 2' }, job)
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain(
      "Input 'parameters' is set, and it only shapes a new run; with input 'run-id' the step follows a run that exists"
    )
  })
})

describe('run-id against a real Kestra server', () => {
  const kestraBase = { orchestrator: 'kestra', url: kestra.url, username: kestra.username, password: kestra.password, namespace: 'dev' }

  it('follows an execution an earlier wait: false step created to its end', async () => {
    const first = await runAction({ ...kestraBase, flow: 'hello', wait: 'false' }, job)
    expect(first.code, explain(first)).toBe(0)
    const second = await runAction({ ...kestraBase, flow: 'hello', 'run-id': first.outputs['run-id'] }, job)
    expect(second.code, explain(second)).toBe(0)
    expect(second.outputs).toMatchObject({ 'run-id': first.outputs['run-id'], outcome: 'success', state: 'SUCCESS' })
    expect(second.stdout).toContain('goodbye')
  })

  it("refuses another flow's execution, and one that does not exist", async () => {
    const first = await runAction({ ...kestraBase, flow: 'hello', wait: 'false' }, job)
    const wrong = await runAction({ ...kestraBase, flow: 'fails', 'run-id': first.outputs['run-id'] }, job)
    expect(wrong.code, explain(wrong)).toBe(1)
    expect(wrong.stdout).toContain(
      `Execution ${first.outputs['run-id']} is not one of flow 'fails' in namespace 'dev': it belongs to flow 'hello'`
    )
    const missing = await runAction({ ...kestraBase, flow: 'hello', 'run-id': 'noSuchExecution0000000' }, job)
    expect(missing.code, explain(missing)).toBe(1)
    expect(missing.stdout).toContain("has no execution noSuchExecution0000000: check input 'run-id'")
  })
})
