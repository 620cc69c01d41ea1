import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { run } from '../../src/main.js'
import { useActionEnvironment } from '../support/env.ts'
import { type Recorded, type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const RUN_ID = '99999999-8888-4777-8666-555555555555'
const deployment = { id: '11111111-2222-4333-8444-555555555555', name: 'nightly', flow_id: 'f', status: 'READY', parameter_openapi_schema: { properties: {} } }
const flowRun = (state_type: string, state_name: string, message: string | null = null, name = 'brave-otter') => ({
  id: RUN_ID,
  name,
  state_type,
  state_name,
  state: { type: state_type, name: state_name, timestamp: '2026-11-22T18:00:00Z', message }
})

let stub: Stub | undefined
let stdout: string
beforeEach(() => {
  stdout = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
})
afterEach(async () => {
  vi.restoreAllMocks()
  await stub?.close()
  stub = undefined
})

/** A Prefect API that creates the run and then answers reads from `states`, the last one repeated. */
async function prefect(states: object[], created: object = flowRun('SCHEDULED', 'Scheduled'), logs: object[] = []): Promise<Stub> {
  let reads = 0
  stub = await startStub((r: Recorded): Reply => {
    if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
    if (r.path.endsWith('/create_flow_run')) return { status: 201, json: created }
    if (r.path.endsWith('/logs/filter')) return { status: 200, json: logs }
    return { status: 200, json: states[Math.min(reads++, states.length - 1)] }
  })
  return stub
}

/** A Prefect API whose run goes on RUNNING until it is set CANCELLING (accepted), then reads CANCELLED. */
async function cancellablePrefect(): Promise<Stub> {
  let cancelled = false
  return startStub((r: Recorded): Reply => {
    if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
    if (r.path.endsWith('/create_flow_run')) return { status: 201, json: flowRun('RUNNING', 'Running') }
    if (r.path.endsWith('/set_state')) {
      cancelled = true
      return { status: 201, json: { status: 'ACCEPT', state: { type: 'CANCELLING' }, details: { type: 'accept_details' } } }
    }
    if (r.path.endsWith('/logs/filter')) return { status: 200, json: [] }
    return { status: 200, json: cancelled ? flowRun('CANCELLED', 'Cancelled') : flowRun('RUNNING', 'Running') }
  })
}

const inputs = (server: Stub, extra: Record<string, string> = {}) => ({ orchestrator: 'prefect', url: `${server.url}/api`, deployment: 'etl/nightly', ...extra })

describe('run', () => {
  it('follows the run to COMPLETED and sets every output', async () => {
    const server = await prefect([flowRun('RUNNING', 'Running'), flowRun('COMPLETED', 'Completed')])
    env.setInputs(inputs(server))
    await run()
    expect(process.exitCode).toBeUndefined()
    expect(env.outputs()).toEqual({
      'run-id': RUN_ID,
      'run-url': `${server.url}/runs/flow-run/${RUN_ID}`,
      'run-name': 'brave-otter',
      state: 'COMPLETED',
      'state-name': 'Completed',
      outcome: 'success',
      'duration-seconds': expect.stringMatching(/^\d+$/)
    })
    expect(stdout).toMatch(/SCHEDULED \(Scheduled\)\n[\s\S]*RUNNING \(Running\)\n[\s\S]*COMPLETED \(Completed\)\n/)
    expect(env.summary()).toContain('<h3>Prefect run: success</h3>')
  })

  it('fails the step on a state in fail-on, with the remote reason, and keeps every output', async () => {
    const server = await prefect([flowRun('FAILED', 'Failed', 'Flow run encountered an exception: <b>ValueError</b>')])
    env.setInputs(inputs(server))
    await run()
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, state: 'FAILED', outcome: 'failed', 'duration-seconds': expect.any(String) })
    expect(stdout).toContain(
      `::error title=Prefect run 'brave-otter' ended FAILED::Prefect run ${RUN_ID} ended FAILED (Failed): Flow run encountered an exception: <b>ValueError</b> — ${server.url}/runs/flow-run/${RUN_ID}`
    )
    expect(env.summary()).toContain('&#60;b&#62;ValueError&#60;/b&#62;')
  })

  it('treats CRASHED as failed and CANCELLED as cancelled', async () => {
    const server = await prefect([flowRun('CANCELLED', 'Cancelled')])
    env.setInputs(inputs(server, { 'fail-on': 'FAILED' }))
    await run()
    expect(process.exitCode).toBeUndefined()
    expect(env.outputs().outcome).toBe('cancelled')
  })

  it('cannot be made to run a workflow command by what the orchestrator says', async () => {
    const server = await prefect(
      [flowRun('FAILED', 'Failed', 'x\n::set-output name=outcome::success\n::add-mask::everything\n##[set-output name=state;]COMPLETED')],
      flowRun('SCHEDULED', 'Scheduled', null, '::stop-commands::abc')
    )
    env.setInputs(inputs(server))
    await run()
    const blocks = [...stdout.matchAll(/^::stop-commands::([0-9a-f-]{36})\n([\s\S]*?)^::\1::$/gm)].map((m) => m[2])
    expect(blocks.some((text) => text.includes("run '::stop-commands::abc'"))).toBe(true)
    expect(blocks.some((text) => text.includes('::set-output name=outcome::success'))).toBe(true)
    // Outside those blocks, a line is either a command of ours, whose data @actions/core escapes
    // onto one line (the runner reads one command a line), or holds nothing a command starts with.
    const outside = stdout.replace(/^::stop-commands::([0-9a-f-]{36})\n[\s\S]*?^::\1::$/gm, '')
    for (const line of outside.split('\n')) {
      if (/^::(error|warning|debug|group|endgroup)( [^:]*)?::/.test(line)) continue
      expect(line).not.toMatch(/^\s*::|##\[/)
    }
    expect(stdout).toContain("::error title=Prefect run '%3A%3Astop-commands%3A%3Aabc' ended FAILED::Prefect run 99999999-8888-4777-8666-555555555555 ended FAILED (Failed): x%0A::set-output name=outcome::success%0A")
    expect(env.outputs().outcome).toBe('failed')
  })

  it('reports a state it does not know as an error, with the outputs it has', async () => {
    const server = await prefect([flowRun('AWAITING_APPROVAL', 'Awaiting approval')])
    env.setInputs(inputs(server))
    await run()
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, state: 'AWAITING_APPROVAL', outcome: 'error' })
    expect(stdout).toContain("::error::Prefect reported state 'AWAITING_APPROVAL' (Awaiting approval)")
  })

  it('times out with outcome timed-out and a link to the run, leaving it when cancel-on says so', async () => {
    const server = await prefect([flowRun('RUNNING', 'Running')])
    env.setInputs(inputs(server, { timeout: '1.5s', 'poll-interval': '1s', 'cancel-on': 'job-cancel' }))
    await run()
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'RUNNING' })
    expect(stdout).toContain(`did not end within the timeout of 2s; it was RUNNING (Running) and may still be going (cancel-on leaves timeouts out): ${server.url}/runs/flow-run/${RUN_ID}`)
    expect(env.summary()).toContain('may still be going')
    expect(server.requests.some((r) => r.path.endsWith('/set_state'))).toBe(false)
    expect(env.state()).toEqual({ 'run-id': RUN_ID })
  })

  it('cancels the run at the timeout by default, and confirms it', async () => {
    stub = await cancellablePrefect()
    env.setInputs(inputs(stub, { timeout: '1s' }))
    await run()
    expect(process.exitCode).toBe(1)
    const setState = stub.requests.find((r) => r.path.endsWith('/set_state'))
    expect(JSON.parse(setState?.body ?? '{}')).toMatchObject({ state: { type: 'CANCELLING', name: 'Cancelling', message: expect.stringContaining('the wait timed out after 1s') }, force: false })
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'CANCELLED' })
    expect(stdout).toContain('did not end within the timeout of 1s; it was RUNNING (Running) and was cancelled: it ended CANCELLED (Cancelled)')
    expect(env.state()).toEqual({ 'run-id': RUN_ID, 'run-ended': 'true' })
  })

  it('cancels the run when the job is cancelled, and says so', async () => {
    stub = await cancellablePrefect()
    env.setInputs(inputs(stub))
    setTimeout(() => process.emit('SIGINT', 'SIGINT'), 1500)
    const started = Date.now()
    expect(await run()).toEqual({ jobCancelled: true, outcome: 'cancelled' })
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ outcome: 'cancelled', state: 'CANCELLED' })
    expect(stdout).toContain('Received SIGINT: the job is being cancelled')
    expect(stdout).toContain(`::error title=Job cancelled::The job was cancelled, and so was Prefect run ${RUN_ID}: it ended CANCELLED (Cancelled).`)
    expect(process.listenerCount('SIGINT')).toBe(0)
  })

  it('redacts secret-like parameters and every masked secret in the summary', async () => {
    const withSchema = { ...deployment, parameter_openapi_schema: { properties: { db_password: {}, region: {} } } }
    stub = await startStub((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: withSchema }
      if (r.path.endsWith('/create_flow_run')) return { status: 201, json: flowRun('COMPLETED', 'Completed') }
      return { status: 200, json: [] }
    })
    env.setInputs(inputs(stub, { username: 'ci', password: 'Hunter2-secret', parameters: 'db_password: plain-text\nregion: eu-Hunter2-secret' }))
    await run()
    const summary = env.summary()
    expect(summary).toContain('<i>redacted</i>')
    expect(summary).not.toContain('plain-text')
    expect(summary).not.toContain('Hunter2')
    expect(summary).toContain('eu-&#42;&#42;&#42;')
  })

  it('stops at bad input with outcome error and sends nothing', async () => {
    const server = await prefect([])
    env.setInputs(inputs(server, { parameters: 'a: [' }))
    await run()
    expect(process.exitCode).toBe(1)
    expect(server.requests).toHaveLength(0)
    expect(env.outputs()).toEqual({ outcome: 'error' })
    expect(stdout).toContain("::error::Input 'parameters' is not valid YAML or JSON")
    expect(env.summary()).toContain('not created')
  })
})
