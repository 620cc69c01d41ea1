import { writeFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ActionsHost } from '../../src/host.js'
import { run } from '../../src/main.js'
import { fakeClock } from '../support/clock.ts'
import { useActionEnvironment } from '../support/env.ts'
import { shown } from '../support/html.ts'
import { DEPLOYMENT_ID, deployment, flowRun, RUN_ID } from '../support/prefect-answers.ts'
import { captureStdout } from '../support/stdout.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Recorded, type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const serve = closedAfterEach(startStub)
const captured = captureStdout()

/** What the run made, as Prefect's filter endpoints answer: none by default. */
interface Produced {
  artifacts?: object[]
  /** The task runs, or what each read of them answers in turn. */
  taskRuns?: object[] | (() => object[])
}

/** A Prefect API that creates the run and then answers reads from `states`, the last one repeated. */
async function prefect(
  states: object[],
  created: object = flowRun('SCHEDULED', 'Scheduled'),
  logs: object[] = [],
  produced: Produced = {}
): Promise<Stub> {
  let reads = 0
  return serve((r: Recorded): Reply => {
    if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
    if (r.path === '/api/admin/version') return { status: 200, json: '3.8.8' }
    if (r.path.endsWith('/create_flow_run')) return { status: 201, json: created }
    if (r.path.endsWith('/logs/filter')) return { status: 200, json: logs }
    if (r.path === '/api/artifacts/filter') return { status: 200, json: produced.artifacts ?? [] }
    if (r.path === '/api/task_runs/filter')
      return { status: 200, json: typeof produced.taskRuns === 'function' ? produced.taskRuns() : (produced.taskRuns ?? []) }
    if (r.path.endsWith('/count')) return { status: 200, json: 0 }
    return { status: 200, json: states[Math.min(reads++, states.length - 1)] }
  })
}

/**
 * A Prefect API whose run reads `going` until it is set CANCELLING (answered with `answer`), then reads CANCELLED.
 * By default a running run whose cancel is accepted; a run nobody picked up is rejected straight to CANCELLED.
 */
async function cancellablePrefect(
  going = flowRun('RUNNING', 'Running'),
  answer: object = { status: 'ACCEPT', state: { type: 'CANCELLING' }, details: { type: 'accept_details' } },
  created = going
): Promise<Stub> {
  let cancelled = false
  return serve((r: Recorded): Reply => {
    if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
    if (r.path.endsWith('/create_flow_run')) return { status: 201, json: created }
    if (r.path.endsWith('/set_state')) {
      cancelled = true
      return { status: 201, json: answer }
    }
    if (r.path.endsWith('/logs/filter')) return { status: 200, json: [] }
    return { status: 200, json: cancelled ? flowRun('CANCELLED', 'Cancelled') : going }
  })
}

const inputs = (server: Stub, extra: Record<string, string> = {}) => ({
  orchestrator: 'prefect',
  url: `${server.url}/api`,
  deployment: 'etl/nightly',
  ...extra
})

describe('run', () => {
  it('follows the run to COMPLETED and sets every output', async () => {
    const server = await prefect([flowRun('RUNNING', 'Running'), flowRun('COMPLETED', 'Completed')])
    env.setInputs(inputs(server))
    await run(new ActionsHost())
    expect(process.exitCode).toBeUndefined()
    expect(env.outputs()).toEqual({
      'run-id': RUN_ID,
      'run-url': `${server.url}/runs/flow-run/${RUN_ID}`,
      'run-name': 'brave-otter',
      state: 'COMPLETED',
      'state-name': 'Completed',
      outcome: 'success',
      'duration-seconds': expect.stringMatching(/^\d+$/),
      artifacts: '{}',
      'task-runs': '[]'
    })
    expect(captured.text()).toMatch(/SCHEDULED \(Scheduled\)\n[\s\S]*RUNNING \(Running\)\n[\s\S]*COMPLETED \(Completed\)\n/)
    expect(env.summary()).toContain('<h3>Prefect run: success</h3>')
  })

  it('fails the step on a state in fail-on, with the remote reason, and keeps every output', async () => {
    const server = await prefect([flowRun('FAILED', 'Failed', { message: 'Flow run encountered an exception: <b>ValueError</b>' })])
    env.setInputs(inputs(server))
    await run(new ActionsHost())
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, state: 'FAILED', outcome: 'failed', 'duration-seconds': expect.any(String) })
    expect(captured.text()).toContain(
      `::error title=Prefect run 'brave-otter' ended FAILED::Prefect run ${RUN_ID} ended FAILED (Failed): Flow run encountered an exception: <b>ValueError</b> — ${server.url}/runs/flow-run/${RUN_ID}`
    )
    expect(env.summary()).toContain('&#60;b&#62;ValueError&#60;/b&#62;')
  })

  it.each([
    ['CRASHED', 'Crashed', 'failed'],
    ['CANCELLED', 'Cancelled', 'cancelled']
  ])('treats %s as %s, the step passing when fail-on leaves it out', async (stateType, stateName, outcome) => {
    const server = await prefect([flowRun(stateType, stateName)])
    env.setInputs(inputs(server, { 'fail-on': 'FAILED' }))
    await run(new ActionsHost())
    expect(process.exitCode).toBeUndefined()
    expect(env.outputs()).toMatchObject({ state: stateType, 'state-name': stateName, outcome })
  })

  it('cannot be made to run a workflow command by what the orchestrator says', async () => {
    const server = await prefect(
      [
        flowRun('FAILED', 'Failed', {
          message: 'x\n::set-output name=outcome::success\n::add-mask::everything\n##[set-output name=state;]COMPLETED'
        })
      ],
      flowRun('SCHEDULED', 'Scheduled', { name: '::stop-commands::abc' })
    )
    env.setInputs(inputs(server))
    await run(new ActionsHost())
    const blocks = [...captured.text().matchAll(/^::stop-commands::([0-9a-f-]{36})\n([\s\S]*?)^::\1::$/gm)].map((m) => m[2])
    expect(blocks.some((text) => text.includes("run '::stop-commands::abc'"))).toBe(true)
    expect(blocks.some((text) => text.includes('::set-output name=outcome::success'))).toBe(true)
    // Outside those blocks, a line is either a command of ours, whose data @actions/core escapes
    // onto one line (the runner reads one command a line), or holds nothing a command starts with.
    const outside = captured.text().replace(/^::stop-commands::([0-9a-f-]{36})\n[\s\S]*?^::\1::$/gm, '')
    for (const line of outside.split('\n')) {
      if (/^::(error|warning|debug|group|endgroup)( [^:]*)?::/.test(line)) continue
      expect(line).not.toMatch(/^\s*::|##\[/)
    }
    expect(captured.text()).toContain(
      "::error title=Prefect run '%3A%3Astop-commands%3A%3Aabc' ended FAILED::Prefect run 99999999-8888-4777-8666-555555555555 ended FAILED (Failed): x%0A::set-output name=outcome::success%0A"
    )
    expect(env.outputs().outcome).toBe('failed')
  })

  it("shows what the run made: artifacts and task runs in the outputs, the log and the summary, within GitHub's size limit", async () => {
    const at = (second: number) => `2026-11-22T18:00:0${second}Z`
    const artifact = (n: number, fields: object) => ({
      id: `a${n}`,
      created: at(n),
      flow_run_id: RUN_ID,
      key: null,
      description: null,
      ...fields
    })
    const taskRun = (name: string, type: string, second: number) => ({
      id: `t-${name}`,
      name,
      state_type: type,
      state_name: type.charAt(0) + type.slice(1).toLowerCase(),
      start_time: at(second),
      end_time: at(second + 1),
      total_run_time: 1
    })
    const server = await prefect([flowRun('COMPLETED', 'Completed')], flowRun('RUNNING', 'Running'), [], {
      artifacts: [
        artifact(3, { key: 'huge', type: 'markdown', data: '| big |\n'.repeat(300_000) }),
        artifact(2, { key: 'scores', type: 'table', data: '[{"name": "a", "score": 1}]' }),
        artifact(1, { key: 'report', type: 'markdown', data: '# Nightly\n\n::set-output name=outcome::pwned\n' })
      ],
      taskRuns: [taskRun('extract', 'COMPLETED', 1), taskRun('check', 'FAILED', 2), taskRun('load', 'COMPLETED', 3)]
    })
    env.setInputs(inputs(server))
    await run(new ActionsHost(), { clock: fakeClock() })
    const outputs = env.outputs()
    expect(outputs.outcome).toBe('success')
    expect(Object.keys(JSON.parse(outputs.artifacts))).toEqual(['report', 'scores', 'huge'])
    expect(JSON.parse(outputs.artifacts).scores).toEqual({ type: 'table', columns: ['name', 'score'], rows: [['a', 1]] })
    expect(JSON.parse(outputs['task-runs']).map((task: { name: string }) => task.name)).toEqual(['extract', 'check', 'load'])
    expect(captured.text()).toContain('Task runs: 3 (2 COMPLETED, 1 FAILED); not successful: check')
    expect(captured.text()).toContain('Artifacts: report (markdown), scores (table, 1 row), huge (markdown)')
    const summary = env.summary()
    expect(Buffer.byteLength(summary)).toBeLessThan(1024 * 1024)
    expect(summary).toContain('\n# Nightly\n')
    expect(summary).toContain('```mermaid\ngantt')
    expect(summary).toContain('Cut at ')
    // The artifacts come last: nothing of ours follows the flow author's Markdown.
    expect(summary.indexOf('<h4>States</h4>')).toBeLessThan(summary.indexOf('<h4>Artifacts</h4>'))
  })

  it("reads an ended run's task runs again while one still shows running, as Prefect records them after the fact", async () => {
    const task = (type: string) => ({ id: 't', name: 'load', state_type: type, state_name: type, start_time: '2026-11-22T18:00:01Z' })
    const answers = [[task('RUNNING')], [task('RUNNING')], [task('COMPLETED')]]
    let reads = 0
    const server = await prefect([flowRun('COMPLETED', 'Completed')], flowRun('RUNNING', 'Running'), [], {
      taskRuns: () => answers[Math.min(reads++, answers.length - 1)]
    })
    env.setInputs(inputs(server))
    const clock = fakeClock()
    await run(new ActionsHost(), { clock })
    expect(reads).toBe(3)
    expect(JSON.parse(env.outputs()['task-runs'])).toEqual([expect.objectContaining({ name: 'load', state: 'COMPLETED' })])
  })

  it('reports a state it does not know as an error, with the outputs it has', async () => {
    const server = await prefect([flowRun('AWAITING_APPROVAL', 'Awaiting approval')])
    env.setInputs(inputs(server))
    await run(new ActionsHost())
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, state: 'AWAITING_APPROVAL', outcome: 'error' })
    expect(captured.text()).toContain("::error::Prefect reported state 'AWAITING_APPROVAL' (Awaiting approval)")
  })

  it('times out with outcome timed-out and a link to the run, leaving it when cancel-on says so', async () => {
    const server = await prefect([flowRun('RUNNING', 'Running')])
    env.setInputs(inputs(server, { timeout: '1.5s', 'poll-interval': '1s', 'cancel-on': 'job-cancel' }))
    // On a clock that moves only when the step pauses: the timeout is exact, and takes no time.
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'RUNNING' })
    expect(captured.text()).toContain(
      `did not end within the timeout of 2s; it was RUNNING (Running) and may still be going (cancel-on leaves timeouts out): ${server.url}/runs/flow-run/${RUN_ID}`
    )
    expect(env.summary()).toContain('may still be going')
    expect(server.requests.some((r) => r.path.endsWith('/set_state'))).toBe(false)
    expect(env.state()).toMatchObject({ 'run-id': RUN_ID, handling: 'left-at-timeout' })
  })

  it('cancels the run at the timeout by default, and confirms it', async () => {
    const stub = await cancellablePrefect()
    env.setInputs(inputs(stub, { timeout: '1s' }))
    // On a clock that moves only when the step pauses: the timeout is exact, and takes no time.
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(process.exitCode).toBe(1)
    const setState = stub.requests.find((r) => r.path.endsWith('/set_state'))
    expect(JSON.parse(setState?.body ?? '{}')).toMatchObject({
      state: { type: 'CANCELLING', name: 'Cancelling', message: expect.stringContaining('the wait timed out after 1s') },
      force: false
    })
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'CANCELLED' })
    expect(captured.text()).toContain(
      'did not end within the timeout of 1s; it was RUNNING (Running) and was cancelled: it ended CANCELLED (Cancelled)'
    )
    expect(env.state()).toMatchObject({ 'run-id': RUN_ID, handling: 'ended' })
  })

  it('fails a run nobody picks up at the start timeout, says why, and cancels it', async () => {
    const stub = await cancellablePrefect(
      flowRun('SCHEDULED', 'Late'),
      { status: 'REJECT', state: { type: 'CANCELLED' }, details: { type: 'reject_details' } },
      flowRun('SCHEDULED', 'Scheduled')
    )
    env.setInputs(inputs(stub, { 'start-timeout': '2m', timeout: '1h' }))
    const clock = fakeClock()
    const started = clock.now()
    await run(new ActionsHost(), { clock })
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'CANCELLED', 'duration-seconds': '0' })
    expect(clock.now() - started).toBeGreaterThanOrEqual(120_000)
    expect(clock.now() - started).toBeLessThan(200_000)
    expect(captured.text()).toContain(
      `::error title=Prefect run 'brave-otter' did not start within 2m::Prefect run ${RUN_ID} did not start within the start timeout of 2m; it was still SCHEDULED (Late): no worker or serve process picked it up.`
    )
    expect(captured.text()).toContain('and was cancelled: it ended CANCELLED (Cancelled)')
    const setState = stub.requests.find((r) => r.path.endsWith('/set_state'))
    expect(JSON.parse(setState?.body ?? '{}')).toMatchObject({
      state: { message: expect.stringContaining('the run did not start within 2m') }
    })
    expect(env.state()).toMatchObject({ handling: 'ended' })
  })

  it('holds a run scheduled for later to the start timeout from its scheduled time, not from its creation', async () => {
    const stub = await prefect([flowRun('SCHEDULED', 'Scheduled')])
    const clock = fakeClock()
    const scheduled = new Date(clock.now() + 10 * 60_000).toISOString()
    env.setInputs(inputs(stub, { 'scheduled-time': scheduled, 'start-timeout': '1m', timeout: '5m', 'cancel-on': 'none' }))
    await run(new ActionsHost(), { clock })
    // The 5-minute timeout comes before the scheduled time plus a minute: a plain timeout, not "did not start".
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out' })
    expect(captured.text()).toContain('did not end within the timeout of 5m')
    expect(captured.text()).not.toContain('did not start')
  })

  it('cancels the run when the job is cancelled, and says so', async () => {
    const stub = await cancellablePrefect()
    env.setInputs(inputs(stub))
    setTimeout(() => process.emit('SIGINT', 'SIGINT'), 1500)
    const started = Date.now()
    expect(await run(new ActionsHost())).toEqual({ jobCancelled: true, outcome: 'cancelled' })
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ outcome: 'cancelled', state: 'CANCELLED' })
    expect(captured.text()).toContain('Received SIGINT: the job is being cancelled')
    expect(captured.text()).toContain(
      `::error title=Job cancelled::The job was cancelled, and so was Prefect run ${RUN_ID}: it ended CANCELLED (Cancelled).`
    )
    expect(process.listenerCount('SIGINT')).toBe(0)
  })

  it('redacts secret-like parameters and every masked secret in the summary', async () => {
    const withSchema = { ...deployment, parameter_openapi_schema: { properties: { db_password: {}, region: {} } } }
    const stub = await serve((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: withSchema }
      if (r.path.endsWith('/create_flow_run')) return { status: 201, json: flowRun('COMPLETED', 'Completed') }
      return { status: 200, json: [] }
    })
    env.setInputs(
      inputs(stub, { username: 'ci', password: 'Hunter2-secret', parameters: 'db_password: plain-text\nregion: eu-Hunter2-secret' })
    )
    await run(new ActionsHost())
    const summary = env.summary()
    expect(summary).toContain('<i>redacted</i>')
    expect(summary).not.toContain('plain-text')
    expect(summary).not.toContain('Hunter2')
    expect(summary).toContain('eu-&#42;&#42;&#42;')
  })

  it('keeps every text from the orchestrator inside the summary, as the text it is', async () => {
    // GitHub ends a raw HTML block at a blank line (CR and CRLF end lines too) and reads what follows as Markdown.
    const message =
      'boom\n\n# Heading\n\n- item\r\n\r\n    indented code\r\r```\nfence\n```\n \t\n<script>x</script> **bold** [link](http://x) | a | b |'
    const withSchema = { ...deployment, parameter_openapi_schema: { properties: { note: {} } } }
    const stub = await serve((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: withSchema }
      if (r.path.endsWith('/create_flow_run'))
        return { status: 201, json: flowRun('SCHEDULED', 'Sched\n\n# uled', { name: 'otter\n\n## run' }) }
      if (r.path.endsWith('/logs/filter'))
        return {
          status: 200,
          json: r.body.includes('after_')
            ? []
            : [{ id: 'l1', level: 40, timestamp: '2026-11-22T18:00:01Z', message: 'first\n\n# log heading\n\n* star\n\n    code' }]
        }
      return { status: 200, json: flowRun('FAILED', 'Fai\r\n\r\nled', { message, name: 'otter\n\n## run' }) }
    })
    env.setInputs(inputs(stub, { parameters: 'note: "a\\n\\n# b\\n\\n- c"' }))
    await run(new ActionsHost())
    const summary = env.summary()
    expect(summary).toContain('Last log lines')
    expect(summary).not.toMatch(/\n[ \t]*\n|\r/)
    for (const line of summary.split('\n').filter(Boolean)) expect(line).toMatch(/^</)
    // Once our own tags are taken out, nothing is left that HTML or Markdown acts on: the rest is text and character references.
    const rest = summary.replace(/<\/?(h3|h4|table|tr|th|td|p|pre|code|a|b|i|br)( href="[^"<>]*")?>/g, '').replace(/&#\d+;/g, '')
    expect(rest).not.toMatch(/[<>&"'`*_#|[\]\\~!$]/)
    const decoded = shown(summary)
    expect(decoded).toContain(message.replace(/\r\n?/g, '\n'))
    // The log's own continuation lines are indented under their first.
    expect(decoded).toContain('first\n    \n    # log heading\n    \n    * star\n    \n        code')
    expect(decoded).toContain('otter\n\n## run')
    expect(decoded).toContain('FAILED (Fai\n\nled)')
    expect(decoded).toContain('SCHEDULED (Sched\n\n# uled)')
    expect(decoded).toContain('"a\\n\\n# b\\n\\n- c"')
  })

  it('redacts the value of a secret-like name at any depth of the parameters', async () => {
    const withSchema = { ...deployment, parameter_openapi_schema: { properties: { db: {}, targets: {} } } }
    const stub = await serve((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: withSchema }
      if (r.path.endsWith('/create_flow_run')) return { status: 201, json: flowRun('COMPLETED', 'Completed') }
      return { status: 200, json: [] }
    })
    // A masked secret is redacted in each string before JSON escapes its quote.
    const parameters =
      "db:\n  host: db.internal\n  note: 'by q\"uote-pw'\n  password: plain-text-1\n  options: {auth: {user: u, value: plain-text-2}}\ntargets:\n  - name: eu\n    api_token: plain-text-3"
    env.setInputs(inputs(stub, { username: 'ci', password: 'q"uote-pw', parameters }))
    await run(new ActionsHost())
    const summary = env.summary()
    expect(summary).not.toContain('plain-text')
    expect(summary).not.toContain('uote')
    expect(summary).toContain('by &#42;&#42;&#42;')
    expect(summary).toContain('db.internal')
    expect(summary).toContain('&#34;password&#34;:&#34;&#42;&#42;&#42;&#34;')
    expect(summary).toContain('&#34;auth&#34;:&#34;&#42;&#42;&#42;&#34;')
    expect(summary).toContain('&#34;name&#34;:&#34;eu&#34;')
    expect(stub.requests.find((r) => r.path.endsWith('/create_flow_run'))?.body).toContain('plain-text-3')
  })

  it.each([
    [{ username: 'ci', password: 'pw-1' }, "Check that the user in input 'username' is allowed to do this."],
    [{ 'api-key': 'key-1' }, "Check that the account of the key in input 'api-key' (a user or a service account) is allowed to do this."],
    [{}, 'The server needs credentials']
  ])('says on a 403 what to check about the credentials that were sent (%o)', async (credentials, hint) => {
    const stub = await serve((): Reply => ({ status: 403, json: { detail: 'Forbidden' } }))
    env.setInputs(inputs(stub, credentials))
    await run(new ActionsHost())
    expect(process.exitCode).toBe(1)
    const error =
      captured
        .text()
        .split('\n')
        .find((line) => line.startsWith('::error')) ?? ''
    expect(error).toContain(`forbids it (403 Forbidden). ${hint}`)
    if ('username' in credentials) expect(error).not.toMatch(/api.key|API key|token/i)
    expect(error.split('Check that').length).toBeLessThanOrEqual(2)
  })

  it.each([
    ['the run was never created', { status: 404, json: { detail: 'Not Found' } }, {}, 'Parameters given (no run was created)'],
    [
      'a dry run',
      { status: 200, json: { ...deployment, parameter_openapi_schema: { properties: { region: {} } } } },
      { 'dry-run': 'true' },
      'Parameters checked (dry run: nothing was sent)'
    ]
  ])('does not call the parameters sent when %s', async (_, lookup, extra, heading) => {
    const stub = await serve((): Reply => lookup as Reply)
    env.setInputs(inputs(stub, { parameters: 'region: eu', ...extra }))
    await run(new ActionsHost())
    const summary = env.summary()
    expect(summary).not.toContain('Parameters sent')
    expect(summary).toContain(`<h4>${heading}</h4>`)
    expect(stub.requests.some((r) => r.path.endsWith('/create_flow_run'))).toBe(false)
  })

  it('says the parameters were sent once the run exists', async () => {
    const withSchema = { ...deployment, parameter_openapi_schema: { properties: { region: {} } } }
    const stub = await serve((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: withSchema }
      return {
        status: r.path.endsWith('/create_flow_run') ? 201 : 200,
        json: r.path.endsWith('/logs/filter') ? [] : flowRun('COMPLETED', 'Completed')
      }
    })
    env.setInputs(inputs(stub, { parameters: 'region: eu' }))
    await run(new ActionsHost())
    expect(env.summary()).toContain('<h4>Parameters sent</h4>')
  })

  it('gives duration-seconds 0 for a run cancelled before it started', async () => {
    let cancelled = false
    const stub = await serve((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
      if (r.path.endsWith('/create_flow_run')) return { status: 201, json: flowRun('SCHEDULED', 'Scheduled') }
      if (r.path.endsWith('/set_state')) {
        cancelled = true
        return {
          status: 201,
          json: { status: 'REJECT', state: { type: 'CANCELLED' }, details: { type: 'reject_details', reason: 'not running' } }
        }
      }
      if (r.path.endsWith('/logs/filter')) return { status: 200, json: [] }
      // Prefect sets start_time when a run first enters RUNNING; this one never did.
      return {
        status: 200,
        json: cancelled
          ? { ...flowRun('CANCELLED', 'Cancelled'), start_time: null, end_time: '2026-11-22T18:00:02Z' }
          : flowRun('SCHEDULED', 'Late')
      }
    })
    env.setInputs(inputs(stub))
    setTimeout(() => process.emit('SIGINT', 'SIGINT'), 1600)
    await run(new ActionsHost())
    expect(env.outputs()).toMatchObject({ outcome: 'cancelled', state: 'CANCELLED', 'duration-seconds': '0' })
    expect(env.summary()).toContain('<td>Duration</td><td>0s (the run never started)</td>')
  })

  it('gives duration-seconds 0 for a run that had not started when the wait timed out', async () => {
    const server = await prefect([flowRun('SCHEDULED', 'Late')])
    env.setInputs(inputs(server, { timeout: '1.6s', 'poll-interval': '1s', 'cancel-on': 'none' }))
    // On a clock that moves only when the step pauses: the timeout is exact, and takes no time.
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'SCHEDULED', 'duration-seconds': '0' })
  })

  it("gives duration-seconds the run's own time when it ran, and the seconds waited when it ran past the timeout", async () => {
    const ran = { ...flowRun('COMPLETED', 'Completed'), start_time: '2026-11-22T18:00:00Z', end_time: '2026-11-22T18:01:05Z' }
    let server = await prefect([flowRun('RUNNING', 'Running'), ran])
    env.setInputs(inputs(server))
    await run(new ActionsHost())
    expect(env.outputs()['duration-seconds']).toBe('65')
    writeFileSync(process.env.GITHUB_OUTPUT as string, '')
    server = await prefect([flowRun('RUNNING', 'Running')])
    env.setInputs(inputs(server, { timeout: '1.6s', 'poll-interval': '1s', 'cancel-on': 'none' }))
    // On a clock that moves only when the step pauses: the timeout is exact, and takes no time.
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'RUNNING', 'duration-seconds': '2' })
  })

  it('stops at bad input with outcome error and sends nothing', async () => {
    const server = await prefect([])
    env.setInputs(inputs(server, { parameters: 'a: [' }))
    await run(new ActionsHost())
    expect(process.exitCode).toBe(1)
    expect(server.requests).toHaveLength(0)
    expect(env.outputs()).toEqual({ outcome: 'error' })
    expect(captured.text()).toContain("::error::Input 'parameters' is not valid YAML or JSON")
    expect(env.summary()).toContain('not created')
  })
})

describe('run with run-id: following a run that exists', () => {
  const ANOTHER_DEPLOYMENT = '22222222-3333-4444-8555-666666666666'

  /** A Prefect API holding the run RUN_ID of `owner`, read as `states` one after another; it creates nothing. */
  async function existing(states: object[], owner = DEPLOYMENT_ID): Promise<Stub> {
    let reads = 0
    return serve((r: Recorded): Reply => {
      if (r.path.startsWith('/api/deployments/name/')) return { status: 200, json: deployment }
      if (r.path.endsWith('/logs/filter') || r.path.endsWith('s/filter')) return { status: 200, json: [] }
      if (r.path === `/api/flow_runs/${RUN_ID}`)
        return { status: 200, json: { ...states[Math.min(reads++, states.length - 1)], deployment_id: owner } }
      if (r.path.startsWith('/api/flow_runs/')) return { status: 404, json: { detail: 'Flow run not found' } }
      return { status: 404, json: { detail: 'not stubbed' } }
    })
  }

  it('follows it to its end and sets every output, creating nothing', async () => {
    const server = await existing([flowRun('RUNNING', 'Running'), flowRun('COMPLETED', 'Completed')])
    env.setInputs(inputs(server, { 'run-id': RUN_ID, 'poll-interval': '1s' }))
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(process.exitCode).toBeUndefined()
    expect(env.outputs()).toMatchObject({ 'run-id': RUN_ID, outcome: 'success', state: 'COMPLETED', 'run-name': 'brave-otter' })
    expect(captured.text()).toContain(`Following Prefect run 'brave-otter' (${RUN_ID}), which run-id names; this step did not create it`)
    expect(server.requests.filter((r) => r.method === 'POST' && !r.path.endsWith('/filter') && !r.path.endsWith('/count'))).toEqual([])
    expect(env.summary()).toContain('<h3>Prefect run: success</h3>')
  })

  it('leaves it going at the timeout by default: this step did not start it', async () => {
    const server = await existing([flowRun('RUNNING', 'Running')])
    env.setInputs(inputs(server, { 'run-id': RUN_ID, timeout: '5s', 'poll-interval': '1s' }))
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'RUNNING' })
    expect(captured.text()).toContain('may still be going (cancel-on leaves timeouts out)')
    expect(server.requests.some((r) => r.path.endsWith('/set_state'))).toBe(false)
    expect(env.state()).toMatchObject({ 'run-id': RUN_ID, handling: 'left-at-timeout', 'cancel-on-job-cancel': 'false' })
  })

  it('refuses a run of another deployment before waiting on it, and leaves it alone', async () => {
    const server = await existing([flowRun('RUNNING', 'Running')], ANOTHER_DEPLOYMENT)
    env.setInputs(inputs(server, { 'run-id': RUN_ID, 'cancel-on': 'both' }))
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toEqual({ outcome: 'error' })
    expect(captured.text()).toContain(
      `Flow run ${RUN_ID} is not a run of deployment 'etl/nightly' (id ${DEPLOYMENT_ID}): it belongs to deployment ${ANOTHER_DEPLOYMENT}. Check input 'run-id' and input 'deployment'.`
    )
    expect(server.requests.map((r) => r.path)).toEqual([
      '/api/deployments/name/etl/nightly',
      '/api/admin/version',
      `/api/flow_runs/${RUN_ID}`
    ])
  })

  it('says clearly when there is no such run', async () => {
    const server = await existing([flowRun('RUNNING', 'Running')])
    const missing = '0d7f8a2e-5b1c-4c3e-9f10-2a4b6c8d0e12'
    env.setInputs(inputs(server, { 'run-id': missing }))
    await run(new ActionsHost(), { clock: fakeClock() })
    expect(process.exitCode).toBe(1)
    expect(env.outputs()).toEqual({ outcome: 'error' })
    expect(captured.text()).toContain(
      `has no flow run ${missing}: check input 'run-id', and that url points at the workspace that holds it.`
    )
  })

  it('holds it to the start timeout from when it was due, not from when this step began', async () => {
    const clock = fakeClock()
    const created = new Date(clock.now() - 20 * 60_000).toISOString()
    const server = await existing([flowRun('SCHEDULED', 'Late', { created, expected_start_time: created })])
    env.setInputs(inputs(server, { 'run-id': RUN_ID, 'start-timeout': '15m', 'poll-interval': '1s' }))
    const started = clock.now()
    await run(new ActionsHost(), { clock })
    expect(env.outputs()).toMatchObject({ outcome: 'timed-out', state: 'SCHEDULED' })
    expect(captured.text()).toContain('did not start within the start timeout of 15m')
    expect(clock.now() - started).toBeLessThan(5_000)
    // Nobody asked to cancel a run this step did not start.
    expect(server.requests.some((r) => r.path.endsWith('/set_state'))).toBe(false)
  })
})
