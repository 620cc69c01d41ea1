import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { NoStream } from '../../src/feed.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import type { PrefectLogFollower } from '../../src/prefect/logs.js'
import { PrefectClient } from '../../src/prefect/client.js'
import type { PrefectInputs } from '../../src/prefect/inputs.js'
import { parsePrefectVersion, takesField } from '../../src/prefect/version.js'
import { useActionEnvironment } from '../support/env.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { deployment, flowRun, RUN_ID } from '../support/prefect-answers.ts'
import { printed } from '../support/stdout.ts'
import { startWsStub } from '../support/ws-stub.ts'

const env = useActionEnvironment()
const host = new ActionsHost()
const serve = closedAfterEach(startWsStub)

const followers: PrefectLogFollower[] = []
afterEach(() => {
  for (const follower of followers.splice(0)) follower.close()
})

const ORIGIN = {
  ci: 'github' as const,
  repository: 'acme/etl',
  sha: 'abc',
  runUrl: 'https://github.com/acme/etl/actions/runs/1/attempts/1',
  attempt: 'acme/etl/1/1/j/s'
}
const ORIGIN_LABELS = { 'github.repository': 'acme/etl', 'github.sha': 'abc', 'github.run_url': ORIGIN.runUrl }

/** An answer, or none ever (`hang`). */
type Answer = { status: number; json?: unknown } | { hang: true }

/**
 * A Prefect server of a given release: `/admin/version` answers `version`
 * (a string is the release, else the answer as it is), the create answers
 * `creates` one after another (then 201), and it takes WebSockets on both streams.
 */
async function server(version: string | Answer, inputs: Record<string, string> = {}, creates: Answer[] = []) {
  const bodies: Record<string, unknown>[] = []
  const stub = await serve({
    accepts: (path) => path === '/api/events/out' || path === '/api/logs/out',
    http: (request, res: ServerResponse) => {
      const answer = (reply: Answer) => {
        if ('hang' in reply) return
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json))
      }
      if (request.path === '/api/admin/version') answer(typeof version === 'string' ? { status: 200, json: version } : version)
      else if (request.path.startsWith('/api/deployments/name/')) answer({ status: 200, json: { ...deployment, work_pool_name: 'pool' } })
      else if (request.path.endsWith('/create_flow_run')) {
        bodies.push(JSON.parse(request.body))
        answer(creates[bodies.length - 1] ?? { status: 201, json: flowRun('SCHEDULED', 'Scheduled') })
      } else if (request.path === `/api/flow_runs/${RUN_ID}`) answer({ status: 200, json: flowRun('SCHEDULED', 'Scheduled') })
      else if (request.path === '/api/logs/filter') answer({ status: 200, json: [] })
      else answer({ status: 404, json: { detail: 'Not Found' } })
    }
  })
  env.setInputs({ orchestrator: 'prefect', url: `${stub.url}/api`, deployment: 'etl/nightly', ...inputs })
  const client = new PrefectClient(getInputs(host) as PrefectInputs, { host, origin: ORIGIN, userAgent: 'ua' })
  return { client, stub, bodies }
}

async function created(version: string | Answer, inputs: Record<string, string> = {}) {
  const { client, bodies } = await server(version, inputs)
  const log = await printed(async () => {
    await client.prepare()
    await client.trigger()
  })
  return { body: bodies[0], log }
}

describe('the Prefect server version', () => {
  it.each([
    ['2.20.27', false],
    ['3.0.11', false],
    ['3.1.10', false],
    ['3.1.11', true],
    ['3.8.8', true],
    ['4.0.0', true]
  ])('%s: origin labels only where the server has labels (%s), the origin always in the tags', async (version, labels) => {
    const { body, log } = await created(version)
    expect(body.tags).toEqual(['github:acme/etl'])
    if (labels) expect(body.labels).toEqual(ORIGIN_LABELS)
    else expect(body).not.toHaveProperty('labels')
    expect(log).toContain(`: id ${deployment.id} (server ${version})\n`)
  })

  it.each([
    ['answers 404', { status: 404, json: { detail: 'Not Found' } }],
    ['answers 401', { status: 401, json: { exception_message: 'Unauthorized' } }],
    ['answers something else than a version', { status: 200, json: { version: '2.20.27' } }],
    ['answers a page', { status: 200, json: '<html>' }]
  ])('a server that %s is taken as the newest, said only in debug', async (_, answer) => {
    const { body, log } = await created(answer as Answer)
    expect(body.labels).toEqual(ORIGIN_LABELS)
    expect(log).toContain(`: id ${deployment.id}\n`)
    expect(log).toMatch(/^::debug::Could not read the version of the Prefect server: .*; taking it as the newest$/m)
    expect(log).not.toMatch(/^(?!::debug::).*version/m)
  })

  it('gives the version read a few seconds at most: a server that never answers it still gets its run', async () => {
    const { client, bodies } = await server({ hang: true })
    const started = Date.now()
    await printed(async () => {
      await client.prepare(Date.now() + 2_000)
      await client.trigger(Date.now() + 10_000)
    })
    expect(Date.now() - started).toBeLessThan(6_000)
    expect(bodies[0].labels).toEqual(ORIGIN_LABELS)
  })

  it.each([
    ['labels', 'team=data', '2.20.27', 'labels', '3.1.11', ' Use tags instead, or leave it empty.'],
    ['labels', 'team=data', '3.1.10', 'labels', '3.1.11', ' Use tags instead, or leave it empty.'],
    ['job-variables', 'image: x', '2.16.3', 'job_variables', '2.16.4', ''],
    ['work-queue', 'gpu', '2.11.0', 'work_queue_name', '2.12.0', ''],
    ['enforce-parameter-schema', 'false', '2.19.8', 'enforce_parameter_schema', '2.19.9', '']
  ])('refuses %s on a server older than its field, before anything is created', async (input, value, version, field, since, hint) => {
    const { client, bodies } = await server(version, { [input]: value })
    await expect(printed(() => client.prepare())).rejects.toThrow(
      `Input '${input}' is set, but Prefect ${version} takes no '${field}' on a new flow run: that came in Prefect ${since}. Nothing was created.${hint}`
    )
    expect(bodies).toHaveLength(0)
  })

  it('takes work-queue, job-variables and enforce-parameter-schema on 2.20', async () => {
    const { body } = await created('2.20.27', { 'work-queue': 'gpu', 'job-variables': 'image: x', 'enforce-parameter-schema': 'false' })
    expect(body).toMatchObject({ work_queue_name: 'gpu', job_variables: { image: 'x' }, enforce_parameter_schema: false })
    expect(body).not.toHaveProperty('labels')
  })

  it('describes the request 2.20 would get in a dry run: no labels', async () => {
    const { client } = await server('2.20.27')
    let lines: string[] = []
    await printed(async () => {
      await client.prepare()
      lines = await client.dryRun()
    })
    const body = JSON.parse(lines[2])
    expect(body.tags).toEqual(['github:acme/etl'])
    expect(body).not.toHaveProperty('labels')
  })

  describe('a server whose version is unknown and which refuses labels', () => {
    const refused = {
      status: 422,
      json: {
        exception_message: 'Invalid request received.',
        exception_detail: [{ loc: ['body', 'labels'], msg: 'extra fields not permitted', type: 'value_error.extra' }]
      }
    }

    it('gets the request again without the origin labels, and says so', async () => {
      const { client, bodies } = await server({ status: 404, json: {} }, {}, [refused])
      let made = ''
      const log = await printed(async () => {
        await client.prepare()
        made = (await client.trigger()).made
      })
      expect(made).toBe('created')
      expect(bodies).toHaveLength(2)
      expect(bodies[0].labels).toEqual(ORIGIN_LABELS)
      expect(bodies[1]).not.toHaveProperty('labels')
      expect(bodies[1].tags).toEqual(['github:acme/etl'])
      expect(log).toContain('does not take labels on a flow run (Prefect before 3.1.11): sending the request without them')
    })

    it('refuses labels the user set, after the one request the server refused', async () => {
      const { client, bodies } = await server({ status: 404, json: {} }, { labels: 'team=data' }, [refused])
      await printed(() => client.prepare())
      await expect(printed(() => client.trigger())).rejects.toThrow(
        "Input 'labels' is set, but this Prefect server takes no 'labels' on a new flow run: that came in Prefect 3.1.11. Nothing was created."
      )
      expect(bodies).toHaveLength(1)
    })

    it('a 422 about something else is the error it is', async () => {
      const other = { status: 422, json: { exception_detail: [{ loc: ['body', 'parameters'], msg: 'bad', type: 'type_error' }] } }
      const { client, bodies } = await server({ status: 404, json: {} }, {}, [other])
      await printed(() => client.prepare())
      await expect(printed(() => client.trigger())).rejects.toThrow(/422/)
      expect(bodies).toHaveLength(1)
    })
  })

  it('on 2.x opens no event stream: it says at once that it reads the state instead', async () => {
    const { client, stub } = await server('2.20.27')
    await printed(() => client.prepare())
    const run = { id: RUN_ID, name: 'brave-otter', url: '', made: 'created' as const, status: await client.read(RUN_ID) }
    const failure = await client
      .stateStream(run)
      .open(
        () => undefined,
        () => undefined,
        new AbortController().signal
      )
      .catch((error: unknown) => error)
    expect(failure).toBeInstanceOf(NoStream)
    expect((failure as Error).message).toBe('Prefect 2.20.27 sends no flow-run state events by default')
    expect(stub.upgrades).toBe(0)
  })

  it.each([
    ['3.4.6', 0],
    ['3.4.7', 1]
  ])('on %s, a log stream is opened %s time(s): before 3.4.7 there is none', async (version, sockets) => {
    const { client, stub } = await server(version)
    await printed(() => client.prepare())
    const follower = client.logs(RUN_ID)
    followers.push(follower)
    follower.listen(() => undefined)
    // The feed opens its socket at once; a wait this long would see it.
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(stub.connections.filter((c) => c.path === '/api/logs/out')).toHaveLength(sockets)
    expect(follower.polled).toBe(true)
  })
})

describe('parsePrefectVersion and takesField', () => {
  it.each([
    ['2.20.27', [2, 20, 27]],
    ['3.1.12.dev3', [3, 1, 12]],
    ['3.0.0rc1', [3, 0, 0]],
    [' 3.8.8\n', [3, 8, 8]]
  ])('reads %j', (text, release) => {
    expect(parsePrefectVersion(text)?.release).toEqual(release)
  })

  it.each([[3], [null], ['3.8'], ['v3.8.8'], ['3.8.8 <script>'], ['3.8.8\n::set-output name=x::y']])('leaves %j unknown', (answer) => {
    expect(parsePrefectVersion(answer)).toBeUndefined()
  })

  it('compares releases part by part, not as text', () => {
    expect(takesField(parsePrefectVersion('3.10.0'), 'labels')).toBe(true)
    expect(takesField(parsePrefectVersion('3.1.9'), 'labels')).toBe(false)
    expect(takesField(parsePrefectVersion('2.99.99'), 'labels')).toBe(false)
    expect(takesField(undefined, 'labels')).toBe(true)
  })
})
