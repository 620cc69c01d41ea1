import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import type { KestraInputs } from '../../src/kestra/inputs.js'
import { KestraClient } from '../../src/kestra/client.js'
import { KESTRA_STATE_TYPES, KESTRA_TERMINAL_STATES, kestraPhase } from '../../src/kestra/states.js'
import { basicAuthorization } from '../support/basic-auth.ts'
import { type FakeClock, fakeClock } from '../support/clock.ts'
import { useActionEnvironment } from '../support/env.ts'
import { printed } from '../support/stdout.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Recorded, type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const host = new ActionsHost()
const serve = closedAfterEach(startStub)

/** The create response Kestra's docs show (how-to-guides/synchronous-executions-api), as the server sends it. */
const DOCS_CREATE_RESPONSE = {
  id: '1KWLxLeaXEXNDaXWP7YSKA',
  namespace: 'company.team',
  flowId: 'myflow',
  flowRevision: 1,
  state: {
    current: 'CREATED',
    histories: [{ state: 'CREATED', date: '2024-07-12T05:07:28.447110427Z' }],
    duration: 'PT0.002939292S',
    startDate: '2024-07-12T05:07:28.447110427Z'
  },
  originalId: '1KWLxLeaXEXNDaXWP7YSKA',
  deleted: false,
  metadata: { attemptNumber: 1, originalCreatedDate: '2024-07-12T05:07:28.447113302Z' }
}

const FLOW = {
  id: 'myflow',
  namespace: 'company.team',
  revision: 4,
  disabled: false,
  inputs: [
    { id: 'user', type: 'STRING' },
    { id: 'retries', type: 'INT', required: false },
    { id: 'config', type: 'JSON', defaults: {} },
    { id: 'tags', type: 'ARRAY', required: false },
    { id: 'dry', type: 'BOOL', required: false },
    { id: 'note', type: 'STRING', required: false },
    { id: 'report', type: 'FILE', required: false }
  ]
}

const CONFIGS = '/api/v1/configs'

/**
 * A client of a stub server, on a clock of its own that moves only by the pauses the client takes (and the test's).
 * The server answers `GET /api/v1/configs` with `version` (null: 404) and `stub.requests` leaves that request out.
 */
async function connect(
  inputs: Record<string, string>,
  reply: (r: Recorded, i: number) => Reply,
  version: string | null = '1.3.31'
): Promise<{ client: KestraClient; stub: Stub; clock: FakeClock }> {
  const real = await serve((r, i) => {
    if (r.path !== CONFIGS) return reply(r, i)
    return version === null ? { status: 404, json: { message: 'Not Found' } } : { status: 200, json: { version, uuid: 'x' } }
  })
  const stub: Stub = {
    url: real.url,
    close: () => real.close(),
    get requests() {
      return real.requests.filter((r) => r.path !== CONFIGS)
    }
  }
  env.setInputs({
    orchestrator: 'kestra',
    url: stub.url,
    namespace: 'company.team',
    flow: 'myflow',
    username: 'ci@example.com',
    password: 'Ci-Passw0rd',
    parameters: 'user: x',
    ...inputs
  })
  const origin = {
    ci: 'github' as const,
    repository: 'acme/etl',
    sha: 'abc',
    runUrl: 'https://github.com/acme/etl/actions/runs/1/attempts/1',
    attempt: 'acme/etl/1/1/j/s'
  }
  const clock = fakeClock()
  return { client: new KestraClient(getInputs(host) as KestraInputs, { host, origin, userAgent: 'ua', clock }), stub, clock }
}

/** A server whose search finds nothing, flow look-up finds FLOW and create answers `create`. */
const server =
  (create: (r: Recorded) => Reply = () => ({ status: 200, json: DOCS_CREATE_RESPONSE })) =>
  (r: Recorded): Reply => {
    if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: FLOW }
    if (r.path.startsWith('/api/v1/main/executions/search')) return { status: 200, json: { results: [], total: 0 } }
    return create(r)
  }

/** What each request was, in order: the flow look-up, a search by key, a create. */
function kinds(requests: Recorded[]): Array<'flow' | 'search' | 'create'> {
  return requests.map((r) => (r.method === 'POST' ? 'create' : r.path.includes('search') ? 'search' : 'flow'))
}

async function formOf(request: Recorded): Promise<FormData> {
  return new Request('http://x/', {
    method: 'POST',
    headers: { 'content-type': String(request.headers['content-type']) },
    body: request.body
  }).formData()
}

describe('KestraClient', () => {
  it('sends inputs as form fields and files as file parts, with labels and options in the query', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kestra-unit-'))
    writeFileSync(join(dir, 'report.csv'), 'a,b\n')
    process.env.GITHUB_WORKSPACE = dir
    const { client, stub } = await connect(
      {
        parameters: 'user: John Doe\nretries: 3\nconfig: {mode: full}\ntags: [a, 1]\ndry: true\nnote: null',
        files: 'report=report.csv',
        labels: 'team=data',
        revision: '4',
        'scheduled-time': '2030-01-01T00:00:00Z'
      },
      server()
    )
    await client.prepare()
    const run = await client.trigger()
    const [flowLookup, search, create] = stub.requests
    expect(flowLookup.path).toBe('/api/v1/main/flows/company.team/myflow?revision=4')
    expect(search.path).toMatch(/^\/api\/v1\/main\/executions\/search\?/)
    expect(create.method).toBe('POST')
    const url = new URL(create.path, 'http://x')
    expect(url.pathname).toBe('/api/v1/main/executions/company.team/myflow')
    expect(url.searchParams.getAll('labels')).toEqual([
      'github.repository:acme/etl',
      'github.sha:abc',
      'github.run_url:https://github.com/acme/etl/actions/runs/1/attempts/1',
      'team:data',
      expect.stringMatching(/^flow-dispatch-key:github\/acme\/etl\/1\/1\/j\/s\/[0-9a-f]{16}$/)
    ])
    expect(url.searchParams.get('revision')).toBe('4')
    expect(url.searchParams.get('scheduleDate')).toBe('2030-01-01T00:00:00.000Z')
    expect(create.headers.authorization).toBe(basicAuthorization('ci@example.com:Ci-Passw0rd'))
    const form = await formOf(create)
    expect(Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === 'string'))).toEqual({
      user: 'John Doe',
      retries: '3',
      config: '{"mode":"full"}',
      tags: '["a",1]',
      dry: 'true'
    })
    const file = form.get('report') as File
    expect(file.name).toBe('report.csv')
    expect(await file.text()).toBe('a,b\n')
    expect(run).toMatchObject({
      id: '1KWLxLeaXEXNDaXWP7YSKA',
      name: '1KWLxLeaXEXNDaXWP7YSKA',
      made: 'created',
      url: `${stub.url}/ui/main/executions/company.team/myflow/1KWLxLeaXEXNDaXWP7YSKA`
    })
    expect(run.status).toMatchObject({ state: 'CREATED', phase: 'pending', since: '2024-07-12T05:07:28.447110427Z' })
  })

  it('follows the execution an earlier identical request created instead of creating another', async () => {
    const { client, stub } = await connect({}, (r) =>
      r.path.startsWith('/api/v1/main/flows/')
        ? { status: 200, json: FLOW }
        : { status: 200, json: { results: [DOCS_CREATE_RESPONSE], total: 1 } }
    )
    await client.prepare()
    expect((await client.trigger()).made).toBe('found')
    expect(stub.requests.map((r) => r.method)).toEqual(['GET', 'GET'])
  })

  it('after a create whose answer was lost, finds the execution by its key and does not create it again', async () => {
    let searches = 0
    const { client, stub } = await connect({}, (r) => {
      if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: FLOW }
      if (r.path.startsWith('/api/v1/main/executions/search'))
        return { status: 200, json: { results: searches++ === 0 ? [] : [DOCS_CREATE_RESPONSE], total: 1 } }
      return 'drop'
    })
    await client.prepare()
    const run = await client.trigger()
    expect(run.id).toBe('1KWLxLeaXEXNDaXWP7YSKA')
    expect(stub.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
  })

  it('creates again only when the look-up after a failed create finds nothing', async () => {
    let posts = 0
    const { client, stub, clock } = await connect(
      {},
      server(() => (posts++ === 0 ? { status: 503, text: 'busy' } : { status: 200, json: DOCS_CREATE_RESPONSE }))
    )
    await client.prepare()
    expect((await client.trigger()).id).toBe('1KWLxLeaXEXNDaXWP7YSKA')
    // The look-up gives a create that may have happened 10 s to become visible, pausing 1, 2 and 4 s: four searches, then the new create.
    expect(kinds(stub.requests)).toEqual(['flow', 'search', 'create', 'search', 'search', 'search', 'search', 'create'])
    expect(clock.pauses).toEqual([1_000, 2_000, 4_000])
  })

  it('goes on creating through a busy server until the deadline, not a number of tries, looking by key before each, and says so once', async () => {
    let posts = 0
    const { client, stub, clock } = await connect(
      {},
      server(() => (posts++ < 4 ? { status: 503, text: 'Service Unavailable' } : { status: 200, json: DOCS_CREATE_RESPONSE }))
    )
    let id = ''
    const log = await printed(async () => {
      const deadline = clock.now() + 120_000
      await client.prepare(deadline)
      id = (await client.trigger(deadline)).id
    })
    expect(id).toBe('1KWLxLeaXEXNDaXWP7YSKA')
    // Five creates, more than a request's own tries (maxAttempts 5 counts the first): every one after the first follows look-ups that found nothing.
    const lookUps = ['search', 'search', 'search', 'search']
    expect(kinds(stub.requests)).toEqual(['flow', 'search', 'create', ...[1, 2, 3, 4].flatMap(() => [...lookUps, 'create'])])
    expect(clock.pauses).toEqual([1, 2, 3, 4].flatMap(() => [1_000, 2_000, 4_000]))
    expect(log.split('\n').filter((line) => line.includes('may or may not have created it') && !line.startsWith('::debug::'))).toHaveLength(
      1
    )
  })

  it('stops creating through a server that stays busy at the deadline, and not before', async () => {
    const { client, stub, clock } = await connect(
      {},
      server(() => ({ status: 503, text: 'Service Unavailable' }))
    )
    const deadline = clock.now() + 60_000
    await client.prepare(deadline)
    const failure = await printed(() => client.trigger(deadline)).then(
      () => undefined,
      (error: unknown) => error
    )
    expect(failure).toMatchObject({ kind: 'transient' })
    // Each round is a create and 7 s of look-ups (10 s at most, a third of the visibility window), until the time is up.
    const creates = kinds(stub.requests).filter((kind) => kind === 'create')
    expect(creates).toHaveLength(10)
    expect(clock.now()).toBe(deadline)
    expect(clock.pauses.reduce((sum, ms) => sum + ms, 0)).toBe(60_000)
  })

  it('shows the message of a rejected input and does not retry it', async () => {
    const { client, stub } = await connect(
      { parameters: 'user: x' },
      server(() => ({
        status: 422,
        json: { message: 'Invalid entity: Missing required input:user', _links: { self: { href: '/x', templated: false } } }
      }))
    )
    await client.prepare()
    await expect(client.trigger()).rejects.toThrow(/\(422\): Invalid entity: Missing required input:user$/)
    expect(stub.requests.filter((r) => r.method === 'POST')).toHaveLength(1)
  })

  it.each([
    [
      { parameters: 'usr: x' },
      "Input 'parameters' names 'usr', which flow 'myflow' in namespace 'company.team' does not declare; its inputs: user (STRING), retries (INT)"
    ],
    [{ parameters: 'user: x\nreport: ./r.csv' }, "Input 'parameters' gives 'report', a FILE input: give it in 'files' as report=<path>"],
    [{ parameters: '' }, "Input 'parameters' lacks the required input 'user' (STRING) of flow 'myflow'"]
  ])('checks the inputs against the flow (%#)', async (inputs, message) => {
    const { client } = await connect(inputs, server())
    await expect(client.prepare()).rejects.toThrow(message)
  })

  it('refuses a file for an input that is not a FILE, and a disabled flow', async () => {
    process.env.GITHUB_WORKSPACE = process.cwd()
    const first = await connect({ parameters: 'user: x', files: 'user=package.json' }, server())
    await expect(first.client.prepare()).rejects.toThrow("Input 'files' gives a file for 'user', a STRING input: give it in 'parameters'")
    const second = await connect({}, () => ({ status: 200, json: { ...FLOW, disabled: true } }))
    await expect(second.client.prepare()).rejects.toThrow("flow 'myflow' in namespace 'company.team' is disabled")
  })

  it('keeps the last state while a new execution is not visible yet, and reads outputs and duration', async () => {
    let reads = 0
    const { client, clock } = await connect(
      {},
      server((r) => {
        if (r.method === 'POST') return { status: 200, json: DOCS_CREATE_RESPONSE }
        if (reads++ < 3) return { status: 404, json: { message: 'Not Found' } }
        return {
          status: 200,
          json: {
            ...DOCS_CREATE_RESPONSE,
            outputs: { rows: 3 },
            state: {
              current: 'WARNING',
              startDate: '2026-01-01T00:00:00Z',
              endDate: '2026-01-01T00:01:00.250Z',
              histories: [
                { state: 'RUNNING', date: '2026-01-01T00:00:00Z' },
                { state: 'WARNING', date: '2026-01-01T00:01:00.250Z' }
              ]
            }
          }
        }
      })
    )
    await client.prepare()
    const run = await client.trigger()
    expect(await client.read(run.id)).toMatchObject({ state: 'CREATED' })
    // Not visible yet for up to 30 s after the create (VISIBILITY_MS); after that, a 404 means the execution is gone.
    await clock.sleep(29_999)
    expect(await client.read(run.id)).toMatchObject({ state: 'CREATED' })
    await clock.sleep(1)
    await expect(client.read(run.id)).rejects.toThrow(`has no execution ${run.id}: it was deleted`)
    expect(await client.read(run.id)).toEqual({
      state: 'WARNING',
      stateName: 'WARNING',
      phase: 'succeeded',
      since: '2026-01-01T00:01:00.250Z',
      runSeconds: 60.25,
      outputs: { rows: 3 }
    })
  })

  it('gives no run time to an execution killed before it ran: its startDate is when it was created', async () => {
    const killed = {
      ...DOCS_CREATE_RESPONSE,
      state: {
        current: 'KILLED',
        startDate: '2026-01-01T00:00:00Z',
        endDate: '2026-01-01T00:05:00Z',
        histories: ['CREATED', 'KILLING', 'KILLED'].map((state, i) => ({ state, date: `2026-01-01T00:0${i * 2}:00Z` }))
      }
    }
    const { client } = await connect(
      {},
      server((r) => ({ status: 200, json: r.method === 'POST' ? DOCS_CREATE_RESPONSE : killed }))
    )
    await client.prepare()
    const run = await client.trigger()
    expect((await client.read(run.id)).runSeconds).toBeUndefined()
  })

  it('uses the tenant-less paths and UI links of servers older than 0.23, and ui-url', async () => {
    const { client, stub } = await connect({ tenant: 'none', 'ui-url': 'https://kestra.example.com/' }, (r) =>
      r.path.startsWith('/api/v1/flows/') ? { status: 200, json: FLOW } : { status: 404, json: {} }
    )
    await client.prepare()
    expect(stub.requests[0].path).toBe('/api/v1/flows/company.team/myflow')
    expect(client.runUrl('abc')).toBe('https://kestra.example.com/ui/executions/company.team/myflow/abc')
  })
})

describe('KestraClient on Kestra 1.3 and 2.0', () => {
  const ENDED = {
    ...DOCS_CREATE_RESPONSE,
    state: { current: 'SUCCESS', histories: [{ state: 'SUCCESS', date: '2026-01-01T00:00:05Z' }], endDate: '2026-01-01T00:00:05Z' }
  }
  const RUNNING = {
    ...DOCS_CREATE_RESPONSE,
    state: { current: 'RUNNING', histories: [{ state: 'RUNNING', date: '2026-01-01T00:00:01Z' }] }
  }
  const OUTPUTS = `/api/v1/main/outputs/executions/${ENDED.id}`

  /** A server whose executions read as `execution` (and `{}` of outputs while it runs, as 2.0's does), outputs at their 2.0 endpoint. */
  const withOutputsAt =
    (execution: () => object, outputs: Reply) =>
    (r: Recorded): Reply => {
      if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: FLOW }
      if (r.path === OUTPUTS) return outputs
      return { status: 200, json: execution() }
    }

  it('reads the flow outputs of an ended execution from their own endpoint on 2.0, once, and not while it runs', async () => {
    let current: object = RUNNING
    const { client, stub } = await connect(
      {},
      withOutputsAt(() => current, { status: 200, json: { greeting: 'hello' } }),
      '2.0.0'
    )
    await client.prepare()
    expect((await client.read(ENDED.id)).outputs).toBeUndefined()
    current = ENDED
    expect(await client.read(ENDED.id)).toMatchObject({ state: 'SUCCESS', outputs: { greeting: 'hello' } })
    expect(await client.read(ENDED.id)).toMatchObject({ outputs: { greeting: 'hello' } })
    expect(stub.requests.filter((r) => r.path === OUTPUTS)).toHaveLength(1)
  })

  it.each([
    ['2.0, where the execution carries them (as Kestra 2.0.0 documents)', '2.0.0', { ...ENDED, outputs: { rows: 3 } }, { rows: 3 }],
    ['1.3, where an execution without outputs has none', '1.3.31', ENDED, undefined]
  ])('asks no outputs endpoint on %s', async (_, version, execution, expected) => {
    const { client, stub } = await connect(
      {},
      withOutputsAt(() => execution, { status: 500, text: 'not to be asked' }),
      version
    )
    await client.prepare()
    expect((await client.read(ENDED.id)).outputs).toEqual(expected)
    expect(stub.requests.filter((r) => r.path.includes('/outputs/'))).toEqual([])
  })

  it('asks a server of unknown version for the outputs once, and takes a 404 as none', async () => {
    const { client, stub } = await connect(
      {},
      withOutputsAt(() => ENDED, { status: 404, json: { message: 'Not Found' } }),
      null
    )
    await client.prepare()
    expect((await client.read(ENDED.id)).outputs).toBeUndefined()
    expect((await client.read(ENDED.id)).outputs).toBeUndefined()
    expect(stub.requests.filter((r) => r.path === OUTPUTS)).toHaveLength(1)
  })

  it('takes {} (a flow with no outputs) as none, as 1.3 does; an outputs endpoint that refuses is a warning, not a failure', async () => {
    const empty = await connect(
      {},
      withOutputsAt(() => ENDED, { status: 200, json: {} }),
      '2.0.0'
    )
    await empty.client.prepare()
    expect((await empty.client.read(ENDED.id)).outputs).toBeUndefined()
    const refused = await connect(
      {},
      withOutputsAt(() => ENDED, { status: 403, json: { message: 'Forbidden' } }),
      '2.0.0'
    )
    await refused.client.prepare()
    let status: Awaited<ReturnType<KestraClient['read']>> | undefined
    const log = await printed(async () => {
      status = await refused.client.read(ENDED.id)
    })
    expect(status).toMatchObject({ state: 'SUCCESS' })
    expect(status?.outputs).toBeUndefined()
    expect(log).toMatch(/::warning::Could not read the flow outputs of execution \w+: .*403.*; the outputs output is not set/)
  })

  it('reads the outputs of an execution found ended by its key, which a 2.0 search gives without them', async () => {
    const { client } = await connect(
      {},
      (r) => {
        if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: FLOW }
        if (r.path.startsWith('/api/v1/main/executions/search')) return { status: 200, json: { results: [ENDED], total: 1 } }
        if (r.path === OUTPUTS) return { status: 200, json: { rows: 7 } }
        return { status: 200, json: ENDED }
      },
      '2.0.0'
    )
    await client.prepare()
    const run = await client.trigger()
    expect(run).toMatchObject({ made: 'found', status: { state: 'SUCCESS', outputs: { rows: 7 } } })
  })

  /** A server whose kill answers at `route` only (404 or 405 elsewhere, as each version does), then reads the execution as KILLING. */
  const killServer =
    (route: string, other: number, answer: Reply = { status: 200, json: { ...RUNNING, state: { current: 'KILLING' } } }) =>
    (r: Recorded): Reply => {
      if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: FLOW }
      if (r.method !== 'DELETE') return { status: 200, json: { ...RUNNING, state: { current: 'KILLING', histories: [] } } }
      return r.path.includes(route) ? answer : { status: other, json: { message: 'Not Found' } }
    }
  const kills = (stub: Stub) =>
    stub.requests
      .filter((r) => r.method === 'DELETE')
      .map((r) => new URL(r.path, 'http://x').pathname.replace(`/api/v1/main/executions/${ENDED.id}`, ''))

  it.each([
    ['2.0.0', '/actions/kill', 405, ['/actions/kill']],
    ['1.3.31', `${ENDED.id}/kill`, 404, ['/kill']],
    [null, '/actions/kill', 405, ['/actions/kill']],
    [null, `${ENDED.id}/kill`, 404, ['/actions/kill', '/kill']]
  ])('kills a server of version %s at its own route %s', async (version, route, other, expected) => {
    const { client, stub } = await connect({}, killServer(route, other), version)
    await client.prepare()
    let status: Awaited<ReturnType<KestraClient['cancel']>> | undefined
    const log = await printed(async () => {
      status = await client.cancel(ENDED.id, 'timed out', Date.now() + 60_000)
    })
    expect(kills(stub)).toEqual(expected)
    expect(log).toContain(`Kestra accepted the kill of execution ${ENDED.id}`)
    expect(status).toMatchObject({ state: 'KILLING', phase: 'cancelling' })
    // 2.0's kill produces text/json only, and kills nothing for a request that accepts JSON alone (406).
    const accept = String(stub.requests.find((r) => r.method === 'DELETE')?.headers.accept)
    expect(accept).toMatch(/text\/json|\*\/\*/)
  })

  it('says an execution is not there when neither route finds it, not that a route is not allowed', async () => {
    const { client } = await connect(
      {},
      (r) => {
        if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: FLOW }
        if (r.path.endsWith('/actions/kill?isOnKillCascade=true')) return { status: 404, json: { message: 'Not Found' } }
        return { status: 405, json: { message: 'Method Not Allowed: Allowed methods: [POST]' } }
      },
      null
    )
    await client.prepare()
    await expect(client.cancel('gone', 'timed out', Date.now() + 60_000)).rejects.toMatchObject({ kind: 'not-found' })
  })
})

describe('KestraClient input values', () => {
  const TYPED_FLOW = {
    ...FLOW,
    inputs: [
      { id: 'dry', type: 'BOOL', required: false },
      { id: 'mode', type: 'SELECT', required: false, values: ['full', 'incremental'] },
      { id: 'token', type: 'SECRET', required: false },
      {
        id: 'env',
        type: 'FORM',
        required: true,
        inputs: [
          { id: 'region', type: 'STRING' },
          { id: 'n', type: 'INT', required: false },
          { id: 'doc', type: 'FILE', required: false }
        ]
      },
      { id: 'pick', type: 'SELECT', values: ['a', 'b'], autoSelectFirst: true },
      { id: 'extra', type: 'STRING', dependsOn: { inputs: ['dry'], condition: '{{ inputs.dry }}' } }
    ]
  }
  const typedServer = (r: Recorded): Reply => {
    if (r.path.startsWith('/api/v1/main/flows/')) return { status: 200, json: TYPED_FLOW }
    if (r.path.startsWith('/api/v1/main/executions/search')) return { status: 200, json: { results: [], total: 0 } }
    if (r.path.includes('/validate')) return { status: 200, json: { inputs: [] } }
    return { status: 200, json: DOCS_CREATE_RESPONSE }
  }

  it('refuses a value the declared type cannot hold before anything is created, so a dry run refuses it too', async () => {
    const { client, stub } = await connect({ parameters: 'dry: maybe\nenv: {region: eu}', 'dry-run': 'true' }, typedServer)
    await expect(client.prepare()).rejects.toThrow(
      new InputError('parameters', "gives 'dry' the value 'maybe', which a BOOL input cannot hold: give true or false")
    )
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /api/v1/main/flows/company.team/myflow'])
  })

  it.each([
    [
      'mode: other\nenv: {region: eu}',
      "Input 'parameters' gives 'mode' the value 'other', which a SELECT input cannot hold: give one of: full, incremental"
    ],
    [
      'env: {region: eu, n: many}',
      "Input 'parameters' gives 'env.n' the value 'many', which an INT input cannot hold: give a whole number from -2147483648 to 2147483647"
    ],
    ['env: {region: eu, doc: ./r.csv}', "Input 'parameters' gives 'env.doc', a FILE input: give it in 'files' as env.doc=<path>"],
    ['env: {region: null}', "Input 'parameters' lacks the required input 'env.region' (STRING) of flow 'myflow'"],
    ['dry: true', "Input 'parameters' lacks the required input 'env.region' (STRING) of flow 'myflow'"]
  ])('checks values and required inputs by type, a FORM by its own inputs (%#)', async (parameters, message) => {
    const { client } = await connect({ parameters }, typedServer)
    await expect(client.prepare()).rejects.toThrow(message)
  })

  it('counts a null as not given', async () => {
    const { client } = await connect({ parameters: 'user: null' }, server())
    await expect(client.prepare()).rejects.toThrow("Input 'parameters' lacks the required input 'user' (STRING) of flow 'myflow'")
  })

  it('sends the texts the declared types give, a FORM as form.input fields and its files as form.input parts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kestra-unit-'))
    writeFileSync(join(dir, 'doc.txt'), 'hi')
    process.env.GITHUB_WORKSPACE = dir
    const { client, stub } = await connect(
      { parameters: 'dry: "TRUE"\nmode: full\nenv: {region: eu, n: 3}', files: 'env.doc=doc.txt' },
      typedServer
    )
    await client.prepare()
    await client.trigger()
    const form = await formOf(stub.requests.at(-1) as Recorded)
    expect([...form.entries()].map(([name, value]) => [name, typeof value === 'string' ? value : `file ${value.name}`])).toEqual([
      ['dry', 'true'],
      ['mode', 'full'],
      ['env.region', 'eu'],
      ['env.n', '3'],
      ['env.doc', 'file doc.txt']
    ])
  })

  it('lists the fields in a dry run, with no SECRET value in it', async () => {
    const { client, stub } = await connect({ parameters: 'dry: false\ntoken: s3cr3t-value\nenv: {region: eu}' }, typedServer)
    await client.prepare()
    const lines = await client.dryRun()
    expect(lines).toEqual(expect.arrayContaining(['  dry: false', '  token: (secret, not shown)', '  env.region: eu']))
    expect(lines.join('\n')).not.toContain('s3cr3t')
    const validate = stub.requests.at(-1) as Recorded
    expect(validate.path).toBe('/api/v1/main/executions/company.team/myflow/validate')
    expect((await formOf(validate)).get('token')).toBe('s3cr3t-value')
    // Masked in the log, and so redacted in the summary, as a password is.
    expect(host.secrets).toContain('s3cr3t-value')
  })
})

describe('Kestra states', () => {
  it('maps every state type, terminal ones to a terminal phase', () => {
    const phases = Object.fromEntries(KESTRA_STATE_TYPES.map((type) => [type, kestraPhase(type)]))
    expect(phases).toEqual({
      CREATED: 'pending',
      SUBMITTED: 'pending',
      QUEUED: 'pending',
      RUNNING: 'running',
      RESTARTED: 'running',
      RETRYING: 'running',
      PAUSED: 'paused',
      BREAKPOINT: 'paused',
      KILLING: 'cancelling',
      SUCCESS: 'succeeded',
      WARNING: 'succeeded',
      FAILED: 'failed',
      RETRIED: 'failed',
      RESUBMITTED: 'failed',
      KILLED: 'cancelled',
      CANCELLED: 'cancelled',
      SKIPPED: 'cancelled'
    })
    for (const type of KESTRA_TERMINAL_STATES) expect(['succeeded', 'failed', 'cancelled']).toContain(kestraPhase(type))
    expect(kestraPhase('ARCHIVED')).toBeUndefined()
  })
})
