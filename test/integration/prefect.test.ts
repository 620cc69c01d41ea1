import { randomUUID } from 'node:crypto'
import { describe, expect, inject, it } from 'vitest'
import { type ActionResult, everythingShown, runAction } from '../support/action.ts'
import { basicAuthorization } from '../support/basic-auth.ts'
import { explain } from '../support/explain.ts'
import { type FlowRun, flowRunsTagged, prefectApi as api } from '../support/prefect-api.ts'
import { uniqueRunId, uniqueTag } from '../support/unique.ts'
import type { ServerInfo } from './setup.ts'

const open = inject('prefect')
const locked = inject('prefectWithAuth')

const deploymentId = async (server: ServerInfo): Promise<string> =>
  (await api<{ id: string }>(server, 'GET', '/deployments/name/it-flow/it-deployment')).id

const base = (tag: string) => ({ orchestrator: 'prefect', url: open.apiUrl, tags: tag, 'poll-interval': '2s' })

describe('Prefect, against a real server and a served flow', () => {
  it('runs a deployment named flow/deployment to completion, with typed parameters, tags and origin labels', async () => {
    const tag = uniqueTag('test')
    const result = await runAction({
      ...base(tag),
      deployment: 'it-flow/it-deployment',
      parameters: 'message: "2026-11-22"\ncount: 3\n',
      labels: 'team=data'
    })
    expect(result.code, explain(result)).toBe(0)
    const { outputs } = result
    expect(outputs).toMatchObject({ state: 'COMPLETED', 'state-name': 'Completed', outcome: 'success' })
    expect(outputs['run-url']).toBe(`${open.apiUrl.replace(/\/api$/, '')}/runs/flow-run/${outputs['run-id']}`)
    expect(Number(outputs['duration-seconds'])).toBeGreaterThanOrEqual(0)

    const run = await api<FlowRun>(open, 'GET', `/flow_runs/${outputs['run-id']}`)
    expect(run.name).toBe(outputs['run-name'])
    expect(run.parameters).toEqual({ message: '2026-11-22', count: 3 })
    expect(run.tags).toEqual(expect.arrayContaining([tag, 'github:acme/pipelines']))
    expect(run.labels).toMatchObject({
      team: 'data',
      'github.repository': 'acme/pipelines',
      'github.sha': '0123456789abcdef0123456789abcdef01234567',
      'github.run_url': 'https://github.com/acme/pipelines/actions/runs/4242/attempts/1'
    })
    expect(run.idempotency_key).toMatch(/^github\/acme\/pipelines\/4242\/1\/release\/trigger\//)
    expect(await flowRunsTagged(open, tag)).toHaveLength(1)

    expect(result.summary).toContain('Prefect run: success')
    expect(result.summary).toContain(`href="${outputs['run-url']}"`)
    expect(result.summary).toContain('COMPLETED (Completed)')
    expect(result.summary).toContain('Duration')
  })

  it('runs a deployment given by UUID', async () => {
    const tag = uniqueTag('test')
    const id = await deploymentId(open)
    const result = await runAction({ ...base(tag), deployment: id.toUpperCase() })
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs.outcome).toBe('success')
    expect(result.stdout).toContain(`deployment ${id}`)
    expect(await flowRunsTagged(open, tag)).toHaveLength(1)
  })

  it("streams the run's log in order, each line once across pages, and no line can run a workflow command", async () => {
    const message = '::add-mask::Completed\n::set-output name=outcome::hacked\n::stop-commands::abc\n##[set-output name=state;]HACKED'
    const result = await runAction({
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: JSON.stringify({ lines: 450, message })
    })
    expect(result.code, explain(result)).toBe(0)
    const numbered = [...result.stdout.matchAll(/ INFO {5}line (\d{5}) of 450$/gm)].map((m) => Number(m[1]))
    expect(numbered).toEqual(Array.from({ length: 450 }, (_, i) => i))
    expect(result.stdout).toMatch(/::group::Prefect run '[^']+': states and log\n/)
    // The look-alikes arrive as text, inside a stop-commands block, and change nothing.
    const block = /^::stop-commands::([0-9a-f-]{36})\n([\s\S]*?)^::\1::$/gm
    const guarded = [...result.stdout.matchAll(block)].map((m) => m[2]).join('\n')
    expect(guarded).toContain('INFO     ::add-mask::Completed\n    ::set-output name=outcome::hacked\n    ::stop-commands::abc')
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED', 'state-name': 'Completed' })
    expect(JSON.stringify(result.outputs)).not.toContain('hacked')
    expect(result.stdout.replace(block, '')).not.toMatch(/^\s*::(add-mask|set-output|stop-commands)::|##\[/m)
  })

  it('writes a summary with the parameters sent, the states, and for a failure its reason and last lines', async () => {
    const result = await runAction({
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: 'outcome: fail\nmessage: "<b>bold</b> | pipe"\nlines: 3'
    })
    expect(result.code, explain(result)).toBe(1)
    const { summary } = result
    expect(summary).toContain('<h3>Prefect run: failed</h3>')
    expect(summary).toContain(`href="${result.outputs['run-url']}"`)
    expect(summary).toContain('<h4>Parameters sent</h4>')
    expect(summary).toContain('&#34;&#60;b&#62;bold&#60;/b&#62; &#124; pipe&#34;')
    expect(summary).toMatch(/<h4>States<\/h4>.*SCHEDULED \(Scheduled\).*FAILED \(Failed\)/s)
    expect(summary).toContain('<h4>Last log lines</h4>')
    expect(summary).toContain('line 00002 of 3')
    expect(summary).toMatch(/<p>Prefect run [0-9a-f-]+ ended FAILED \(Failed\)/)
  })

  it('fails the step when the flow raises, with every output set and the reason shown', async () => {
    const tag = uniqueTag('test')
    const result = await runAction({
      ...base(tag),
      deployment: 'it-flow/it-deployment',
      parameters: '{"outcome": "fail", "message": "boom-42"}'
    })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ state: 'FAILED', 'state-name': 'Failed', outcome: 'failed' })
    for (const name of ['run-id', 'run-url', 'run-name', 'duration-seconds']) expect(result.outputs[name], name).toBeTruthy()
    expect(result.stdout).toMatch(/::error title=Prefect run '[^']+' ended FAILED::Prefect run [0-9a-f-]+ ended FAILED \(Failed\)/)
    expect(result.summary).toContain('Prefect run: failed')
    const run = await api<FlowRun>(open, 'GET', `/flow_runs/${result.outputs['run-id']}`)
    expect(run.state_type).toBe('FAILED')
  })

  it('passes a failed run when fail-on leaves FAILED out, still reporting it', async () => {
    const result = await runAction({
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: 'outcome: fail',
      'fail-on': 'CRASHED'
    })
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ state: 'FAILED', outcome: 'failed' })
  })

  it('returns right after creating the run when wait is false', async () => {
    const tag = uniqueTag('test')
    const result = await runAction({
      ...base(tag),
      deployment: 'it-flow/it-deployment',
      wait: 'false',
      'scheduled-time': '2099-01-01T00:00:00Z'
    })
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'triggered', state: 'SCHEDULED', 'state-name': 'Scheduled' })
    expect(result.outputs['duration-seconds']).toBeUndefined()
    const run = await api<FlowRun>(open, 'GET', `/flow_runs/${result.outputs['run-id']}`)
    expect(run.state_type).toBe('SCHEDULED')
    expect(Date.parse(run.next_scheduled_start_time ?? run.expected_start_time ?? '')).toBe(Date.parse('2099-01-01T00:00:00Z'))
    expect(await flowRunsTagged(open, tag)).toHaveLength(1)
  })

  // The timeouts leave the served flow time to start: with the fault series
  // loading the same server, a run has stayed PENDING for more than 4 s.
  it('times out: outcome timed-out, the step fails, and the run is cancelled and confirmed', async () => {
    const result = await runAction({
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: 'sleep_seconds: 60',
      timeout: '15s',
      'poll-interval': '1s'
    })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'timed-out', state: 'CANCELLED' })
    expect(result.stdout).toContain('did not end within the timeout of 15s; it was RUNNING (Running) and was cancelled: it ended CANCELLED')
    expect(result.summary).toContain('Prefect run: timed-out')
    expect(result.summary).toContain(`href="${result.outputs['run-url']}"`)
    expect(result.summary).toMatch(
      /<p>Prefect run [0-9a-f-]+ did not end within the timeout of 15s; it was RUNNING \(Running\) and was cancelled/
    )
    expect(result.stdout).toContain(`::error title=Prefect run '${result.outputs['run-name']}' timed out after 15s::`)
    expect((await api<FlowRun>(open, 'GET', `/flow_runs/${result.outputs['run-id']}`)).state_type).toBe('CANCELLED')
  })

  it('times out and leaves the run going when cancel-on leaves timeouts out', async () => {
    const result = await runAction({
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: 'sleep_seconds: 40',
      timeout: '15s',
      'poll-interval': '1s',
      'cancel-on': 'job-cancel'
    })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('timed-out')
    expect(result.stdout).toContain('may still be going')
    expect(result.stdout).toContain(result.outputs['run-url'])
    expect((await api<FlowRun>(open, 'GET', `/flow_runs/${result.outputs['run-id']}`)).state_type).toBe('RUNNING')
  })

  it("cancels the run when the job is cancelled (SIGINT), within the runner's 10 s", async () => {
    let signalledAt = 0
    const result = await runAction(
      { ...base(uniqueTag('test')), deployment: 'it-flow/it-deployment', parameters: 'sleep_seconds: 60', 'poll-interval': '1s' },
      {},
      {
        watch: (stdout, child) => {
          if (!signalledAt && stdout.includes('RUNNING (Running)')) {
            signalledAt = Date.now()
            child.kill('SIGINT')
          }
        }
      }
    )
    const latencyMs = Date.now() - signalledAt
    console.log(`Prefect: SIGINT to exit, with the cancellation confirmed: ${latencyMs} ms`)
    expect(result.code, explain(result)).toBe(1)
    expect(latencyMs).toBeLessThan(10_000)
    expect(result.outputs).toMatchObject({ outcome: 'cancelled', state: 'CANCELLED' })
    expect(result.state.handling).toBe('ended')
    expect((await api<FlowRun>(open, 'GET', `/flow_runs/${result.outputs['run-id']}`)).state_type).toBe('CANCELLED')
  })

  it('cancels from the post step a run whose main step was killed outright', async () => {
    const inputs = {
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: 'sleep_seconds: 60',
      'poll-interval': '1s'
    }
    const main = await runAction(
      inputs,
      {},
      {
        watch: (stdout, child) => {
          if (stdout.includes('RUNNING (Running)')) child.kill('SIGKILL')
        }
      }
    )
    expect(main.code).toBeNull()
    const runId = main.state['run-id']
    expect(runId).toMatch(/^[0-9a-f-]{36}$/)
    const post = await runAction(inputs, {}, { entry: 'post', state: main.state })
    expect(post.code, explain(post)).toBe(0)
    expect(post.stdout).toContain(`Cancelled Prefect run ${runId}: it ended CANCELLED`)
    expect((await api<FlowRun>(open, 'GET', `/flow_runs/${runId}`)).state_type).toBe('CANCELLED')
    const again = await runAction(inputs, {}, { entry: 'post', state: main.state })
    expect(again.stdout).toContain('had ended CANCELLED: nothing to cancel')
  })

  // A later step of the job is cancelled: the runner starts the post step with the main step's saved state.
  it('leaves going from the post step a run started with wait: false, and says why', async () => {
    const inputs = { ...base(uniqueTag('test')), deployment: 'it-flow/it-deployment', parameters: 'sleep_seconds: 20', wait: 'false' }
    const main = await runAction(inputs)
    expect(main.code, explain(main)).toBe(0)
    const runId = main.outputs['run-id']
    const post = await runAction(inputs, {}, { entry: 'post', state: main.state })
    expect(post.code, explain(post)).toBe(0)
    expect(post.stdout).toContain(`Prefect run ${runId} was started with wait: false and is left going on purpose.`)
    expect(post.stdout).not.toContain('::warning::')
    expect((await api<FlowRun>(open, 'GET', `/flow_runs/${runId}`)).state_type).not.toMatch(/^CANCELL(ING|ED)$/)
  })

  it('leaves going from the post step a run that timed out with cancel-on none', async () => {
    const inputs = {
      ...base(uniqueTag('test')),
      deployment: 'it-flow/it-deployment',
      parameters: 'sleep_seconds: 20',
      timeout: '5s',
      'poll-interval': '1s',
      'cancel-on': 'none'
    }
    const main = await runAction(inputs)
    expect(main.code, explain(main)).toBe(1)
    expect(main.outputs.outcome).toBe('timed-out')
    const runId = main.outputs['run-id']
    const post = await runAction(inputs, {}, { entry: 'post', state: main.state })
    expect(post.code, explain(post)).toBe(0)
    expect(post.stdout).toContain(`Prefect run ${runId} outlived the timeout and is left going, as cancel-on asks`)
    expect((await api<FlowRun>(open, 'GET', `/flow_runs/${runId}`)).state_type).not.toMatch(/^CANCELL(ING|ED)$/)
  })

  it('creates one run for a retried step and a new one for a new attempt', async () => {
    const tag = uniqueTag('test')
    const inputs = { ...base(tag), deployment: 'it-flow/it-deployment', wait: 'false' }
    const first = await runAction(inputs, { GITHUB_RUN_ID: '777' })
    const again = await runAction(inputs, { GITHUB_RUN_ID: '777' })
    expect(first.code, explain(first)).toBe(0)
    expect(again.code, explain(again)).toBe(0)
    expect(again.outputs['run-id']).toBe(first.outputs['run-id'])
    expect(again.stdout).toContain('identical earlier request created')
    expect(await flowRunsTagged(open, tag)).toHaveLength(1)

    const rerun = await runAction(inputs, { GITHUB_RUN_ID: '777', GITHUB_RUN_ATTEMPT: '2' })
    expect(rerun.code, explain(rerun)).toBe(0)
    expect(rerun.outputs['run-id']).not.toBe(first.outputs['run-id'])
    expect(await flowRunsTagged(open, tag)).toHaveLength(2)
  })

  it('honours an explicit idempotency-key', async () => {
    const tag = uniqueTag('test')
    const key = `release-${tag}`
    const inputs = { ...base(tag), deployment: 'it-flow/it-deployment', wait: 'false', 'idempotency-key': key }
    const first = await runAction(inputs, { GITHUB_RUN_ID: '1' })
    const second = await runAction(inputs, { GITHUB_RUN_ID: '2' })
    expect(second.outputs['run-id']).toBe(first.outputs['run-id'])
    const run = await api<FlowRun>(open, 'GET', `/flow_runs/${first.outputs['run-id']}`)
    expect(run.idempotency_key).toBe(key)
  })

  it('names an unknown deployment and the server, and creates nothing', async () => {
    const tag = uniqueTag('test')
    const result = await runAction({ ...base(tag), deployment: 'it-flow/no such deployment?#' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('error')
    expect(result.outputs['run-id']).toBeUndefined()
    expect(result.stdout).toContain(`::error::Prefect at ${open.apiUrl} has no deployment 'it-flow/no such deployment?#'`)
    expect(await flowRunsTagged(open, tag)).toHaveLength(0)
  })

  it('refuses a parameter the deployment does not take, naming it, before creating anything', async () => {
    const tag = uniqueTag('test')
    const result = await runAction({ ...base(tag), deployment: 'it-flow/it-deployment', parameters: 'mesage: typo' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain(
      "Input 'parameters' names 'mesage', which deployment 'it-flow/it-deployment' does not take; it takes: outcome, sleep_seconds, message, count, lines"
    )
    expect(await flowRunsTagged(open, tag)).toHaveLength(0)
  })

  it("shows the server's reason when it rejects a parameter's value", async () => {
    const tag = uniqueTag('test')
    const result = await runAction({ ...base(tag), deployment: 'it-flow/it-deployment', parameters: 'count: not-a-number' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('error')
    expect(result.stdout).toMatch(
      /::error::Prefect at .* rejected the request to create a flow run of deployment 'it-flow\/it-deployment' \(409\): .*count/
    )
    expect(await flowRunsTagged(open, tag)).toHaveLength(0)
  })

  it('dry-run checks the parameters against the schema, shows the request, and creates nothing', async () => {
    const tag = uniqueTag('test')
    const good = await runAction({
      ...base(tag),
      deployment: 'it-flow/it-deployment',
      parameters: 'count: 2\nmessage: hi',
      'dry-run': 'true'
    })
    expect(good.code, explain(good)).toBe(0)
    expect(good.outputs).toEqual({ outcome: 'dry-run' })
    expect(good.stdout).toMatch(
      /Dry run: nothing is created\. The request that would be sent:\nPOST http:\/\/127\.0\.0\.1:\d+\/api\/deployments\/[0-9a-f-]+\/create_flow_run\nAuthorization: \(none\)\n\{/
    )
    expect(good.stdout).toContain('"count": 2')
    expect(good.stdout).toContain('"idempotency_key": "github/acme/pipelines/4242/1/release/trigger/')
    const bad = await runAction({
      ...base(tag),
      deployment: 'it-flow/it-deployment',
      parameters: 'count: "2"\nsleep_seconds: soon',
      'dry-run': 'true'
    })
    expect(bad.code, explain(bad)).toBe(1)
    expect(bad.stdout).toContain(
      "::error::Input 'parameters' does not fit the parameter schema of deployment 'it-flow/it-deployment': 'count' must be integer; got string \"2\"; 'sleep_seconds' must be number; got string \"soon\""
    )
    expect(await flowRunsTagged(open, tag)).toHaveLength(0)
  })

  it('never prints a secret, nor the basic-auth header, even with debug logging on', async () => {
    const key = `pnu_${randomUUID().replaceAll('-', '')}`
    const result = await runAction(
      { ...base(uniqueTag('test')), deployment: 'it-flow/it-deployment', 'api-key': key, parameters: 'lines: 3' },
      { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true' }
    )
    expect(result.code, explain(result)).toBe(0)
    expect(result.stdout).toContain(`::add-mask::${key}`)
    const everything = everythingShown(result)
    expect(everything).not.toContain(key)
    expect(everything).not.toContain(Buffer.from(key).toString('base64'))
  })

  it('fails on bad input before any request, naming the input', async () => {
    const tag = uniqueTag('test')
    const result = await runAction({ ...base(tag), deployment: 'it-flow/it-deployment', parameters: '- a\n- b' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain("::error::Input 'parameters' must be a mapping of names to values (name: value), but it is a list")
    expect(result.outputs.outcome).toBe('error')
    expect(await flowRunsTagged(open, tag)).toHaveLength(0)
  })

  it('says the server is unreachable, naming it', async () => {
    const result = await runAction({ orchestrator: 'prefect', url: 'http://127.0.0.1:9/api', deployment: 'it-flow/it-deployment' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain('::error::Could not look up deployment')
    expect(result.stdout).toContain('Prefect at http://127.0.0.1:9/api did not answer')
  })

  describe('a self-hosted server with basic auth', () => {
    const [username, password] = (locked.authString ?? ':').split(':')

    it('runs with the right username and password, and never prints them', async () => {
      const tag = uniqueTag('test')
      const result = await runAction(
        {
          orchestrator: 'prefect',
          url: locked.apiUrl,
          username,
          password,
          deployment: 'it-flow/it-deployment',
          tags: tag,
          'poll-interval': '2s'
        },
        { RUNNER_DEBUG: '1' }
      )
      expect(result.code, explain(result)).toBe(0)
      expect(result.outputs.outcome).toBe('success')
      expect(await flowRunsTagged(locked, tag)).toHaveLength(1)
      const basic = basicAuthorization({ username, password }).slice('Basic '.length)
      expect(result.stdout).toContain(`::add-mask::${password}`)
      expect(result.stdout).toContain(`::add-mask::${basic}`)
      const printed = result.stdout.replaceAll(/^::add-mask::.*$/gm, '')
      for (const secret of [password, basic]) expect(printed + result.summary + JSON.stringify(result.outputs)).not.toContain(secret)
    })

    it('reads the credentials from PREFECT_API_AUTH_STRING', async () => {
      const result = await runAction(
        { orchestrator: 'prefect', deployment: 'it-flow/it-deployment', wait: 'false' },
        { PREFECT_API_URL: locked.apiUrl, PREFECT_API_AUTH_STRING: locked.authString }
      )
      expect(result.code, explain(result)).toBe(0)
      expect(result.outputs.outcome).toBe('triggered')
    })

    it('fails clearly with a wrong password', async () => {
      const result = await runAction({
        orchestrator: 'prefect',
        url: locked.apiUrl,
        username,
        password: 'wrong',
        deployment: 'it-flow/it-deployment'
      })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs.outcome).toBe('error')
      expect(result.stdout).toContain('refused the credentials (401')
      expect(result.stdout).toContain("Check 'username' and 'password'")
    })

    it('says credentials are needed when none are given', async () => {
      const result = await runAction({ orchestrator: 'prefect', url: locked.apiUrl, deployment: 'it-flow/it-deployment' })
      expect(result.code, explain(result)).toBe(1)
      expect(result.stdout).toContain('The server needs credentials')
    })
  })
})

describe('Prefect: what a paused deployment and a url without /api really do', () => {
  async function setPaused(paused: boolean): Promise<void> {
    const id = await deploymentId(open)
    await api(open, 'POST', `/deployments/${id}/${paused ? 'pause_deployment' : 'resume_deployment'}`)
  }

  it('a run created for a paused deployment starts and completes, and the log says so instead of warning it will not', async () => {
    const tag = uniqueTag('test')
    await setPaused(true)
    let result: ActionResult
    try {
      expect((await api<{ paused: boolean }>(open, 'GET', '/deployments/name/it-flow/it-deployment')).paused).toBe(true)
      result = await runAction({ ...base(tag), deployment: 'it-flow/it-deployment', timeout: '2m' }, { GITHUB_RUN_ID: uniqueRunId() })
    } finally {
      await setPaused(false)
    }
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ state: 'COMPLETED', outcome: 'success' })
    expect(await flowRunsTagged(open, tag)).toHaveLength(1)
    expect(result.stdout).toContain(
      "deployment 'it-flow/it-deployment' is paused: Prefect makes no scheduled runs of it, but runs the one created here as usual."
    )
    expect(result.stdout).not.toMatch(/^::warning::.*paused/m)
  })

  it('a url without /api is named, with the url to use instead, and nothing is created', async () => {
    const tag = uniqueTag('test')
    const root = open.apiUrl.replace(/\/api$/, '')
    const result = await runAction({ ...base(tag), url: root, deployment: 'it-flow/it-deployment' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain(
      `Input 'url' is ${root}, which is not the API of this Prefect server: a self-hosted server serves it under /api. Use ${root}/api.`
    )
    expect(result.stdout).not.toContain('has no deployment')
    expect(await flowRunsTagged(open, tag)).toHaveLength(0)
  })
})

describe('Prefect: a run that no worker picks up', () => {
  it('fails at the start timeout with outcome timed-out, says no worker picked it up, and cancels it on the server', async () => {
    // A deployment of the served flow that nothing serves: its runs stay SCHEDULED, then Late, for ever.
    const flow = await api<{ id: string }>(open, 'GET', '/flows/name/it-flow')
    const name = `unserved-${randomUUID().slice(0, 8)}`
    await api(open, 'POST', '/deployments/', { name, flow_id: flow.id })
    const tag = uniqueTag('start')
    const started = Date.now()
    const result = await runAction({ ...base(tag), deployment: `it-flow/${name}`, 'start-timeout': '5s', 'poll-interval': '1s' })
    expect(result.code, explain(result)).toBe(1)
    expect(Date.now() - started).toBeLessThan(60_000)
    expect(result.outputs).toMatchObject({ outcome: 'timed-out', 'duration-seconds': '0' })
    expect(result.stdout).toMatch(
      new RegExp(
        `::error title=Prefect run '[\\w-]+' did not start within 5s::Prefect run ${result.outputs['run-id']} did not start within the start timeout of 5s; it was still SCHEDULED \\((Scheduled|Late)\\): no worker or serve process picked it up`
      )
    )
    const run = await api<FlowRun>(open, 'GET', `/flow_runs/${result.outputs['run-id']}`)
    expect(run.state_type).toBe('CANCELLED')
    expect(result.outputs.state).toBe('CANCELLED')
  })
})
