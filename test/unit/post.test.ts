import { readFileSync } from 'node:fs'
import { describe, expect, it, vi } from 'vitest'
import { decide } from '../../src/cancel.js'
import { post } from '../../src/cleanup.js'
import { ActionsHost } from '../../src/host.js'
import { run } from '../../src/main.js'
import { HANDLINGS, type Handling, type SavedRun } from '../../src/state.js'
import { fakeClock } from '../support/clock.ts'
import { useActionEnvironment } from '../support/env.ts'
import { deployment, flowRun, RUN_ID } from '../support/prefect-answers.ts'
import { captureStdout } from '../support/stdout.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Recorded, type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const serve = closedAfterEach(startStub)
const captured = captureStdout()
const API_KEY = 'pnu_post-step-secret'

/**
 * A Prefect API whose run reads `reads()` until it is set CANCELLING
 * (accepted), then CANCELLED; an unknown path is a 404.
 */
async function prefect(reads: () => object = () => flowRun('RUNNING', 'Running')): Promise<Stub> {
  let cancelled = false
  return serve((r: Recorded): Reply => {
    if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
    if (r.path.endsWith('/create_flow_run')) return { status: 201, json: flowRun('SCHEDULED', 'Scheduled') }
    if (r.path.endsWith('/logs/filter')) return { status: 200, json: [] }
    if (r.path.endsWith('/set_state')) {
      cancelled = true
      return { status: 201, json: { status: 'ACCEPT', state: { type: 'CANCELLING' }, details: {} } }
    }
    if (r.path === `/api/flow_runs/${RUN_ID}`) return { status: 200, json: cancelled ? flowRun('CANCELLED', 'Cancelled') : reads() }
    return { status: 404, json: { detail: 'Not Found' } }
  })
}

const inputs = (server: Stub, extra: Record<string, string> = {}) => ({
  orchestrator: 'prefect',
  url: `${server.url}/api`,
  'api-key': API_KEY,
  deployment: 'etl/nightly',
  'poll-interval': '1s',
  ...extra
})

/** The post step as the runner starts it: the main step's saved state as STATE_* variables. */
async function runPost(state: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(state)) process.env[`STATE_${name}`] = value
  captured.reset()
  await post(new ActionsHost())
}

const cancels = (server: Stub) => server.requests.filter((r) => r.path.endsWith('/set_state'))

describe('what the post step does with the run, by what the main step decided', () => {
  const saved = (handling: Handling, cancelOnJobCancel: boolean): SavedRun => ({
    orchestrator: 'prefect',
    server: 'http://prefect.example/api',
    cancelOnJobCancel,
    handling,
    runId: RUN_ID,
    runUrl: `http://prefect.example/runs/flow-run/${RUN_ID}`
  })
  const table: [Handling, boolean, true | RegExp][] = [
    ['watching', true, true],
    ['watching', false, /^cancel-on leaves job cancellation out: Prefect run \S+ is left as it is\.$/],
    ['cancel-asked', true, true],
    ['cancel-asked', false, true],
    ['ended', true, /^Prefect run \S+ had ended: nothing to cancel\.$/],
    ['not-waited', true, /^Prefect run \S+ was started with wait: false and is left going on purpose\.$/],
    ['left-at-timeout', true, /^Prefect run \S+ outlived the timeout and is left going, as cancel-on asks/],
    ['left-at-job-cancel', false, /^Prefect run \S+ is left going, as cancel-on asks \(it leaves job cancellation out\)\.$/],
    ['left-on-error', true, /^The main step stopped on an error and left Prefect run \S+ as it was/]
  ]

  it.each(table)('%s, cancel-on job cancellation %s', (handling, jobCancel, expected) => {
    const decision = decide(saved(handling, jobCancel))
    if (expected === true) expect(decision).toEqual({ act: true })
    else expect(decision.act === false && decision.why).toMatch(expected)
  })

  it('covers every decision the main step can save', () => {
    expect(new Set(table.map(([handling]) => handling))).toEqual(new Set(HANDLINGS))
  })
})

describe('post step after a real main step', () => {
  it('leaves a run started with wait: false going, and says why', async () => {
    const server = await prefect()
    env.setInputs(inputs(server, { wait: 'false' }))
    await run(new ActionsHost())
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, outcome: 'triggered' })
    await runPost(env.state())
    expect(cancels(server)).toHaveLength(0)
    expect(captured.text()).toContain(`Prefect run ${RUN_ID} was started with wait: false and is left going on purpose.`)
    expect(captured.text()).not.toContain('::warning::')
  })

  it('leaves a run that outlived the timeout when cancel-on is none', async () => {
    const server = await prefect()
    env.setInputs(inputs(server, { timeout: '1.5s', 'cancel-on': 'none' }))
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'RUNNING' })
    await runPost(env.state())
    expect(cancels(server)).toHaveLength(0)
    expect(captured.text()).toContain(`Prefect run ${RUN_ID} outlived the timeout and is left going, as cancel-on asks`)
  })

  it('leaves a run whose main step stopped on an error', async () => {
    const server = await prefect(() => flowRun('AWAITING_APPROVAL', 'Awaiting approval'))
    env.setInputs(inputs(server))
    await run(new ActionsHost())
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, outcome: 'error' })
    await runPost(env.state())
    expect(cancels(server)).toHaveLength(0)
    expect(captured.text()).toContain(`The main step stopped on an error and left Prefect run ${RUN_ID} as it was`)
  })

  it('cancels the run of a main step killed while it waited, from the saved state and the credential inputs alone', async () => {
    let going = true
    const server = await prefect(() => (going ? flowRun('RUNNING', 'Running') : flowRun('COMPLETED', 'Completed')))
    env.setInputs(inputs(server))
    const main = run(new ActionsHost())
    await vi.waitFor(() => expect(captured.text()).toContain('RUNNING (Running)'), { timeout: 5_000 })
    // What a main step killed now would have left: the runner reads the state file as it is.
    const killedState = env.state()
    going = false
    await main
    expect(killedState).toMatchObject({
      orchestrator: 'prefect',
      server: `${server.url}/api`,
      'run-id': RUN_ID,
      handling: 'watching',
      'cancel-on-job-cancel': 'true'
    })
    expect(readFileSync(process.env.GITHUB_STATE ?? '', 'utf8')).not.toContain(API_KEY)

    going = true
    // Only the credentials are read again: inputs the post step has no use for cannot stop it.
    env.setInputs({ deployment: '', parameters: 'a: [', timeout: 'soon' })
    await runPost(killedState)
    const [cancel] = cancels(server)
    expect(JSON.parse(cancel?.body ?? '{}')).toMatchObject({ state: { type: 'CANCELLING' } })
    expect(cancel?.headers.authorization).toBe(`Bearer ${API_KEY}`)
    expect(captured.text()).toContain(`Cancelled Prefect run ${RUN_ID}: it ended CANCELLED. ${server.url}/runs/flow-run/${RUN_ID}`)
  })

  it('says so when no run was created', async () => {
    await runPost({})
    expect(captured.text()).toContain('No run was created: nothing to cancel.')
  })
})
