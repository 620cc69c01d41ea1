import { describe, expect, it } from 'vitest'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import type { PrefectInputs } from '../../src/prefect/inputs.js'
import { PrefectClient } from '../../src/prefect/client.js'
import { useActionEnvironment } from '../support/env.ts'
import { DEPLOYMENT_ID, deployment as nightly, flowRun, RUN_ID } from '../support/prefect-answers.ts'
import { printed } from '../support/stdout.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Recorded, type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const host = new ActionsHost()
const serve = closedAfterEach(startStub)

const deployment = {
  ...nightly,
  name: 'nightly ?#1',
  work_pool_name: null,
  parameter_openapi_schema: { properties: { date: {}, full_refresh: {} } }
}

/** The server's version is asked of every server but Prefect Cloud; unless a test answers it, it is the newest tested. */
async function connect(
  inputs: Record<string, string>,
  reply: (r: Recorded) => Reply,
  version: Reply = { status: 200, json: '3.8.8' }
): Promise<{ client: PrefectClient; stub: Stub }> {
  const stub = await serve((r) => (r.path === '/api/admin/version' ? version : reply(r)))
  env.setInputs({ orchestrator: 'prefect', url: `${stub.url}/api`, deployment: 'my flow/nightly ?#1', ...inputs })
  return {
    client: new PrefectClient(getInputs(host) as PrefectInputs, {
      host,
      origin: {
        ci: 'github' as const,
        repository: 'acme/etl',
        sha: 'abc',
        runUrl: 'https://github.com/acme/etl/actions/runs/1/attempts/1',
        attempt: 'acme/etl/1/1/j/s'
      },
      userAgent: 'ua'
    }),
    stub
  }
}

const happy = (r: Recorded): Reply =>
  r.method === 'GET' ? { status: 200, json: deployment } : { status: 201, json: flowRun('SCHEDULED', 'Scheduled') }

describe('PrefectClient', () => {
  it('encodes each part of a deployment name and sends only the fields that are set', async () => {
    const { client, stub } = await connect({ 'api-key': 'pnu_key', parameters: 'date: 2026-11-22' }, happy)
    await client.prepare()
    const run = await client.trigger()
    expect(stub.requests.map((r) => r.path)).toEqual([
      '/api/deployments/name/my%20flow/nightly%20%3F%231',
      '/api/admin/version',
      `/api/deployments/${DEPLOYMENT_ID}/create_flow_run`
    ])
    for (const request of stub.requests) {
      expect(request.headers).toMatchObject({ authorization: 'Bearer pnu_key', 'x-prefect-api-version': '0.8.4' })
    }
    const body = JSON.parse(stub.requests[2].body)
    expect(Object.keys(body).sort()).toEqual(['idempotency_key', 'labels', 'parameters', 'tags'])
    expect(body).toMatchObject({
      parameters: { date: '2026-11-22' },
      tags: ['github:acme/etl'],
      labels: {
        'github.repository': 'acme/etl',
        'github.sha': 'abc',
        'github.run_url': 'https://github.com/acme/etl/actions/runs/1/attempts/1'
      },
      idempotency_key: expect.stringMatching(/^github\/acme\/etl\/1\/1\/j\/s\/[0-9a-f]{16}$/)
    })
    expect(run).toMatchObject({ id: RUN_ID, name: 'brave-otter', made: 'created', url: `${stub.url}/runs/flow-run/${RUN_ID}` })
    expect(run.status).toMatchObject({ state: 'SCHEDULED', stateName: 'Scheduled', phase: 'scheduled' })
  })

  it('maps every input to its create field', async () => {
    const { client, stub } = await connect(
      {
        'run-name': 'n1',
        tags: 'a',
        labels: 'k=v',
        'job-variables': 'image: x',
        'scheduled-time': '2030-01-01T00:00:00Z',
        'idempotency-key': 'key-1',
        'enforce-parameter-schema': 'false',
        'extra-body': 'context: {c: 1}\nempirical_policy: {retries: 1}\nparent_task_run_id: null\ninfrastructure_document_id: null'
      },
      happy
    )
    await client.prepare()
    await client.trigger()
    expect(JSON.parse(stub.requests[2].body)).toEqual({
      name: 'n1',
      tags: ['github:acme/etl', 'a'],
      labels: {
        'github.repository': 'acme/etl',
        'github.sha': 'abc',
        'github.run_url': 'https://github.com/acme/etl/actions/runs/1/attempts/1',
        k: 'v'
      },
      job_variables: { image: 'x' },
      state: { type: 'SCHEDULED', name: 'Scheduled', state_details: { scheduled_time: '2030-01-01T00:00:00.000Z' } },
      idempotency_key: 'key-1',
      enforce_parameter_schema: false,
      context: { c: 1 },
      empirical_policy: { retries: 1 },
      parent_task_run_id: null,
      infrastructure_document_id: null
    })
  })

  it('says so when the key matched a run an earlier request created', async () => {
    const { client } = await connect({}, (r) =>
      r.method === 'GET' ? { status: 200, json: deployment } : { status: 200, json: flowRun('RUNNING', 'Running') }
    )
    await client.prepare()
    expect((await client.trigger()).made).toBe('found')
  })

  it.each([
    [
      { status: 401, json: { exception_message: 'Unauthorized' } },
      {},
      /refused the credentials \(401 Unauthorized\)\. The server needs credentials: set 'api-key'/
    ],
    [
      { status: 401, json: { detail: 'Invalid API key' } },
      { 'api-key': 'pnu_bad' },
      /refused the credentials \(401 Invalid API key\)\. Check 'api-key'/
    ],
    [{ status: 403, json: { detail: 'Forbidden' } }, {}, /forbids it \(403 Forbidden\)/],
    [
      { status: 404, json: { detail: 'Deployment not found' } },
      {},
      /^Prefect at http:\/\/127\.0\.0\.1:\d+\/api has no deployment 'my flow\/nightly \?#1'\. Check both names/
    ],
    [
      { status: 404, json: { detail: 'Deployment not found' } },
      { deployment: DEPLOYMENT_ID },
      /has no deployment 11111111-2222-4333-8444-555555555555\. Check the UUID/
    ],
    [{ status: 200, text: '<html>proxy login</html>' }, {}, /the answer was not JSON .*<html>proxy login/]
  ])('explains a failed look-up (%#)', async (reply, inputs, message) => {
    const { client } = await connect(inputs, () => reply as Reply)
    await expect(client.prepare()).rejects.toThrow(message)
  })

  it.each([
    [
      {
        status: 422,
        json: {
          exception_message: 'Invalid request received.',
          exception_detail: [{ loc: ['body', 'parameters'], msg: 'Value error, too large', type: 'value_error' }]
        }
      },
      /rejected the request to create a flow run of deployment 'my flow\/nightly \?#1' \(422\): Invalid request received\.; parameters: Value error, too large$/
    ],
    [
      { status: 422, json: { detail: [{ loc: ['body', 'job_variables', 'image'], msg: 'field required' }] } },
      /\(422\): job_variables\.image: field required$/
    ],
    [
      {
        status: 409,
        json: { detail: "Error creating flow run: Validation failed for field 'date'. Failure reason: 1 is not of type 'string'" }
      },
      /\(409\): Error creating flow run: Validation failed for field 'date'/
    ]
  ])('shows why the server rejected the create (%#)', async (reply, message) => {
    const { client } = await connect({ parameters: 'date: 1' }, (r) =>
      r.method === 'GET' ? { status: 200, json: deployment } : (reply as Reply)
    )
    await client.prepare()
    await expect(client.trigger()).rejects.toThrow(message)
  })

  it('refuses parameter names the schema does not have', async () => {
    const { client } = await connect({ parameters: 'date: x\nfull_refesh: true' }, happy)
    await expect(client.prepare()).rejects.toThrow(
      "Input 'parameters' names 'full_refesh', which deployment 'my flow/nightly ?#1' does not take; it takes: date, full_refresh"
    )
  })

  it('refuses a work queue for a deployment with no work pool', async () => {
    const { client } = await connect({ 'work-queue': 'q' }, happy)
    await expect(client.prepare()).rejects.toThrow("Input 'work-queue' is set, but deployment 'my flow/nightly ?#1' has no work pool")
  })

  it('warns when nothing polls the deployment, and says what pausing it does and does not do', async () => {
    const { client } = await connect({}, () => ({ status: 200, json: { ...deployment, status: 'NOT_READY', paused: true } }))
    const log = await printed(() => client.prepare())
    // A paused deployment still runs a run made through the API (see the integration test): nothing to warn of.
    expect(log).not.toContain("::warning::deployment 'my flow/nightly ?#1' is paused")
    expect(log).toContain(
      "deployment 'my flow/nightly ?#1' is paused: Prefect makes no scheduled runs of it, but runs the one created here as usual."
    )
    expect(log).toMatch(/^::warning::.*is NOT_READY: no worker or serve process has polled it lately/m)
  })

  it.each([
    ['answers 404 without the UI', { status: 404, json: { detail: 'Not Found' } }],
    ["answers with the UI's page", { status: 200, text: '<!doctype html><html><body>Prefect</body></html>' }]
  ])('says the url lacks /api when the server %s there and its /api/health answers', async (_, wrong) => {
    const stub = await serve((r) => (r.path === '/api/health' ? { status: 200, json: true } : (wrong as Reply)))
    env.setInputs({ orchestrator: 'prefect', url: stub.url, deployment: 'it-flow/nightly' })
    const client = new PrefectClient(getInputs(host) as PrefectInputs, { host, origin: {}, userAgent: 'ua' })
    await expect(client.prepare()).rejects.toThrow(
      `Input 'url' is ${stub.url}, which is not the API of this Prefect server: a self-hosted server serves it under /api. Use ${stub.url}/api.`
    )
    expect(stub.requests.map((r) => r.path)).toEqual(['/deployments/name/it-flow/nightly', '/api/health'])
  })

  it('asks nothing more of a url that has /api when the deployment is missing', async () => {
    const { client, stub } = await connect({}, () => ({ status: 404, json: { detail: 'Deployment not found' } }))
    await expect(client.prepare()).rejects.toThrow(/has no deployment 'my flow\/nightly \?#1'/)
    expect(stub.requests).toHaveLength(1)
  })

  it('waits out a busy server for the look-up and the create beyond the attempts of a read, saying so once each', async () => {
    const busy: Reply = { status: 503, json: { exception_message: 'Service Unavailable' }, headers: { 'retry-after': '0' } }
    let lookUps = 0
    let creates = 0
    const { client, stub } = await connect({}, (r) => {
      if (r.method === 'GET') return lookUps++ < 6 ? busy : { status: 200, json: deployment }
      return creates++ < 6 ? busy : { status: 201, json: flowRun('SCHEDULED', 'Scheduled') }
    })
    let id = ''
    const log = await printed(async () => {
      const deadline = Date.now() + 60_000
      await client.prepare(deadline)
      id = (await client.trigger(deadline)).id
    })
    expect(id).toBe(RUN_ID)
    expect(stub.requests.filter((r) => r.path.startsWith('/api/deployments/name/'))).toHaveLength(7)
    expect(stub.requests.filter((r) => r.method === 'POST')).toHaveLength(7)
    const told = log.split('\n').filter((line) => line.includes('503') && !line.startsWith('::debug::'))
    expect(told).toEqual([
      expect.stringMatching(/^GET .*\/api\/deployments\/name\/.*: HTTP 503; retrying until the step's timeout/),
      expect.stringMatching(/^POST .*\/create_flow_run: HTTP 503; retrying until the step's timeout/)
    ])
    // The same key every time: a create that did land is returned, not made again.
    expect(new Set(stub.requests.filter((r) => r.method === 'POST').map((r) => JSON.parse(r.body).idempotency_key)).size).toBe(1)
  })

  it('reads a run, with its own start-to-end time', async () => {
    const { client } = await connect({}, () => ({
      status: 200,
      json: flowRun('FAILED', 'Failed', {
        start_time: '2026-11-22T18:00:00Z',
        end_time: '2026-11-22T18:01:30.500Z',
        state: { type: 'FAILED', name: 'Failed', message: 'Flow run encountered an exception' }
      })
    }))
    expect(await client.read(RUN_ID)).toEqual({
      state: 'FAILED',
      stateName: 'Failed',
      phase: 'failed',
      since: undefined,
      message: 'Flow run encountered an exception',
      runSeconds: 90.5
    })
  })

  it.each([
    [
      'https://api.prefect.cloud/api/accounts/A/workspaces/W',
      {},
      `https://app.prefect.cloud/account/A/workspace/W/runs/flow-run/${RUN_ID}`
    ],
    ['http://prefect.internal:4200/api', {}, `http://prefect.internal:4200/runs/flow-run/${RUN_ID}`],
    ['https://gw.example.com/prefect/api', {}, `https://gw.example.com/prefect/runs/flow-run/${RUN_ID}`],
    [
      'http://prefect.internal:4200/api',
      { 'ui-url': 'https://prefect.example.com/ui/' },
      `https://prefect.example.com/ui/runs/flow-run/${RUN_ID}`
    ]
  ])('links runs on %s to the UI', (url, inputs, expected) => {
    env.setInputs({ orchestrator: 'prefect', url, deployment: 'a/b', ...inputs })
    expect(new PrefectClient(getInputs(host) as PrefectInputs, { host, origin: {}, userAgent: 'ua' }).runUrl(RUN_ID)).toBe(expected)
  })
})
