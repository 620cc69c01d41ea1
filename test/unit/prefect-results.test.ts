import { describe, expect, it } from 'vitest'
import { FlowDispatchError } from '../../src/errors.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import type { PrefectInputs } from '../../src/prefect/inputs.js'
import { PrefectClient } from '../../src/prefect/client.js'
import { RESULTS_LIMIT } from '../../src/prefect/results.js'
import type { RunResults } from '../../src/results.js'
import { useActionEnvironment } from '../support/env.ts'
import { RUN_ID } from '../support/prefect-answers.ts'
import { printed } from '../support/stdout.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Recorded, type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const host = new ActionsHost()
const serve = closedAfterEach(startStub)
const TASK_RUN_ID = 'aaaaaaaa-0000-4000-8000-000000000001'

/** Answers by path; a path not given answers an empty list, or 0 for a count. */
type Answers = Partial<Record<'artifacts' | 'artifactCount' | 'taskRuns' | 'taskRunCount', Reply | ((r: Recorded) => Reply)>>

const PATHS = {
  '/api/artifacts/filter': 'artifacts',
  '/api/artifacts/count': 'artifactCount',
  '/api/task_runs/filter': 'taskRuns',
  '/api/task_runs/count': 'taskRunCount'
} as const

async function connect(answers: Answers): Promise<{ client: PrefectClient; stub: Stub }> {
  const stub = await serve((r) => {
    const name = PATHS[r.path as keyof typeof PATHS]
    if (!name || r.method !== 'POST') return { status: 404, json: { detail: 'Not Found' } }
    const answer = answers[name]
    if (typeof answer === 'function') return answer(r)
    return answer ?? { status: 200, json: name.endsWith('Count') ? 0 : [] }
  })
  env.setInputs({ orchestrator: 'prefect', url: `${stub.url}/api`, deployment: 'etl/nightly' })
  return { client: new PrefectClient(getInputs(host) as PrefectInputs, { host, origin: {}, userAgent: 'ua' }), stub }
}

/** The answers for one results(), and what it printed (its warnings). */
async function results(client: PrefectClient, deadline = Date.now() + 30_000): Promise<{ read: RunResults; log: string }> {
  let read: RunResults | undefined
  const log = await printed(async () => {
    read = await client.results(RUN_ID, deadline)
  })
  return { read: read as RunResults, log }
}

let sequence = 0
/** An artifact as `/artifacts/filter` answers it; `created` orders them, so each new one is newer. */
function artifact(fields: Record<string, unknown>): Record<string, unknown> {
  sequence++
  return {
    id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`,
    created: new Date(Date.UTC(2026, 10, 22, 18, 0, sequence)).toISOString(),
    key: null,
    description: null,
    flow_run_id: RUN_ID,
    task_run_id: null,
    metadata_: null,
    ...fields
  }
}

/** Newest first, as the sort asked for gives them. */
const newestFirst = (...items: Record<string, unknown>[]): Reply => ({ status: 200, json: [...items].reverse() })

const bodies = (stub: Stub, path: string) => stub.requests.filter((r) => r.path === path).map((r) => JSON.parse(r.body))

describe('Prefect results: artifacts', () => {
  it('reads them by the run id, newest first, keeps the newest version of each key and the unkeyed ones, oldest first', async () => {
    const items = [
      artifact({ key: 'status', type: 'markdown', data: 'draft', description: 'First' }),
      artifact({ type: 'markdown', data: 'note one' }),
      artifact({ key: 'scores', type: 'table', data: '[{"a": 1}]', task_run_id: TASK_RUN_ID }),
      artifact({ key: 'status', type: 'markdown', data: 'final', description: 'Second' }),
      artifact({ type: 'markdown', data: 'note two' })
    ]
    const { client, stub } = await connect({ artifacts: newestFirst(...items) })
    const { read, log } = await results(client)
    expect(bodies(stub, '/api/artifacts/filter')).toEqual([
      { artifacts: { flow_run_id: { any_: [RUN_ID] } }, sort: 'CREATED_DESC', limit: RESULTS_LIMIT }
    ])
    expect(read.artifacts).toEqual([
      { key: 'scores', created: items[2].created, type: 'table', columns: ['a'], rows: [[1]] },
      { key: 'status', description: 'Second', created: items[3].created, type: 'markdown', markdown: 'final' },
      { created: items[1].created, type: 'markdown', markdown: 'note one' },
      { created: items[4].created, type: 'markdown', markdown: 'note two' }
    ])
    // A page shorter than the limit is all there is: nothing to count.
    expect(stub.requests.map((r) => r.path).sort()).toEqual(['/api/artifacts/filter', '/api/task_runs/filter'])
    expect(read.omitted).toEqual({ artifacts: 0, taskRuns: 0 })
    expect(log).not.toContain('::warning::')
  })

  it.each([
    [
      'markdown',
      '# Title\n\n- a\n- b\n::set-output name=x::pwned',
      { type: 'markdown', markdown: '# Title\n\n- a\n- b\n::set-output name=x::pwned' }
    ],
    ['markdown', '[Dashboard](https://example.com/d?a=1)', { type: 'link', url: 'https://example.com/d?a=1', text: 'Dashboard' }],
    ['markdown', '[https://example.com/x](https://example.com/x)', { type: 'link', url: 'https://example.com/x' }],
    [
      'markdown',
      '[wiki](https://en.wikipedia.org/wiki/Foo_(bar))',
      { type: 'link', url: 'https://en.wikipedia.org/wiki/Foo_(bar)', text: 'wiki' }
    ],
    [
      'markdown',
      '[a](https://a.example) and [b](https://b.example)',
      { type: 'markdown', markdown: '[a](https://a.example) and [b](https://b.example)' }
    ],
    ['markdown', '[x](https://example.com/a b)', { type: 'markdown', markdown: '[x](https://example.com/a b)' }],
    ['markdown', '[x](javascript:alert(1))', { type: 'markdown', markdown: '[x](javascript:alert(1))' }],
    ['markdown', '[file](s3://bucket/key)', { type: 'markdown', markdown: '[file](s3://bucket/key)' }],
    ['markdown', '[two\nlines](https://example.com)', { type: 'markdown', markdown: '[two\nlines](https://example.com)' }],
    ['link', '[Docs](http://example.com/docs)', { type: 'link', url: 'http://example.com/docs', text: 'Docs' }],
    ['link', ' https://example.com/bare ', { type: 'link', url: 'https://example.com/bare' }],
    ['progress', 42.5, { type: 'progress', percent: 42.5 }],
    ['progress', 0, { type: 'progress', percent: 0 }],
    ['progress', 250, { type: 'progress', percent: 100 }],
    ['progress', -3, { type: 'progress', percent: 0 }],
    ['image', 'https://example.com/chart.png', { type: 'image', url: 'https://example.com/chart.png' }],
    ['result', { storage_key: 'k' }, { type: 'other', kind: 'result', data: { storage_key: 'k' } }],
    [null, 'x', { type: 'other', kind: '(none)', data: 'x' }]
  ])('maps a %s artifact whose data is %j', async (type, data, expected) => {
    const { client } = await connect({ artifacts: newestFirst(artifact({ key: 'k', type, data })) })
    const { read } = await results(client)
    expect(read.artifacts).toEqual([{ key: 'k', created: expect.any(String), ...expected }])
  })

  it.each([
    [
      'a list of mappings, with the columns of every row',
      [
        { a: 1, b: 'x' },
        { b: 'y', c: null }
      ],
      ['a', 'b', 'c'],
      [
        [1, 'x', null],
        [null, 'y', null]
      ]
    ],
    [
      'a mapping of columns, the shorter padded',
      { a: [1, 2, 3], b: ['x'] },
      ['a', 'b'],
      [
        [1, 'x'],
        [2, null],
        [3, null]
      ]
    ],
    [
      'a list of lists, named by position, the shorter padded',
      [['a', 1], ['b']],
      ['0', '1'],
      [
        ['a', 1],
        ['b', null]
      ]
    ],
    ['an empty list', [], [], []],
    ['an empty mapping', {}, [], []],
    ['cells of any JSON type', [{ n: { deep: [1] }, m: true }], ['n', 'm'], [[{ deep: [1] }, true]]],
    [
      'a column a row lacks but every object has',
      [{ constructor: 1 }, { a: 2 }],
      ['constructor', 'a'],
      [
        [1, null],
        [null, 2]
      ]
    ],
    // Written as the server's JSON: in a literal, `__proto__` would set the prototype, not a key.
    ['a column named __proto__', '[{"__proto__": 1, "x": 2}]', ['__proto__', 'x'], [[1, 2]]]
  ])('normalises a table given as %s', async (_, table, columns, rows) => {
    const data = typeof table === 'string' ? table : JSON.stringify(table)
    const { client } = await connect({ artifacts: newestFirst(artifact({ key: 'scores', type: 'table', data })) })
    const { read } = await results(client)
    expect(read.artifacts).toEqual([{ key: 'scores', created: expect.any(String), type: 'table', columns, rows }])
  })

  it('takes a table whose data is already JSON rather than a string of it', async () => {
    const { client } = await connect({ artifacts: newestFirst(artifact({ type: 'table', data: { a: [1] } })) })
    const { read } = await results(client)
    expect(read.artifacts).toEqual([{ created: expect.any(String), type: 'table', columns: ['a'], rows: [[1]] }])
  })

  it.each([
    ['table', 'not json {'],
    ['table', '"a string"'],
    ['table', '42'],
    ['table', 'null'],
    ['table', '[{"a": 1}, [1]]'],
    ['table', '[1, 2]'],
    ['table', '{"a": [1], "b": 2}'],
    ['table', 7],
    ['markdown', 12],
    ['markdown', null],
    ['markdown', { text: 'x' }],
    ['link', 'not a url'],
    ['link', 'ftp://example.com/file'],
    ['link', ['https://example.com']],
    ['progress', '50'],
    ['progress', null],
    ['image', 'javascript:alert(1)'],
    ['image', 5]
  ])('shows a %s artifact whose data is %j as it came, as other', async (type, data) => {
    const { client } = await connect({ artifacts: newestFirst(artifact({ key: 'odd', type, data })) })
    const { read, log } = await results(client)
    expect(read.artifacts).toEqual([{ key: 'odd', created: expect.any(String), type: 'other', kind: type, data }])
    expect(log).not.toContain('::warning::')
  })

  it('skips an item that is not an artifact, says so once, and ignores fields of the wrong type', async () => {
    const good = artifact({ type: 'markdown', data: 'kept', key: 7, description: ['x'], created: 'yesterday' })
    const { client } = await connect({ artifacts: { status: 200, json: [null, 'artifact', [1], good] } })
    const { read, log } = await results(client)
    expect(read.artifacts).toEqual([{ type: 'markdown', markdown: 'kept' }])
    expect(log).toMatch(
      new RegExp(
        `^::warning::Left out 3 item\\(s\\) of what flow run ${RUN_ID} produced.*: artifact 1 of the answer is not an object$`,
        'm'
      )
    )
  })

  it('counts what a full page left out, less the older versions of the keys it kept', async () => {
    // A full page: 150 versions of 'status', 40 other keys, 10 without a key.
    const page = [
      ...Array.from({ length: 10 }, () => artifact({ type: 'markdown', data: 'note' })),
      ...Array.from({ length: 40 }, (_, i) => artifact({ key: `k${i}`, type: 'markdown', data: 'x' })),
      ...Array.from({ length: 150 }, (_, i) => artifact({ key: 'status', type: 'markdown', data: `v${i}` }))
    ]
    expect(page).toHaveLength(RESULTS_LIMIT)
    // The run holds 260: 30 more versions of 'status' (older, left out anyway) and 30 it never read.
    const { client, stub } = await connect({
      artifacts: newestFirst(...page),
      artifactCount: (r) => ({ status: 200, json: JSON.parse(r.body).artifacts.key ? 150 + 30 + 40 : 260 })
    })
    const { read } = await results(client)
    expect(read.artifacts).toHaveLength(51)
    expect(read.artifacts.find((a) => a.key === 'status')).toMatchObject({ type: 'markdown', markdown: 'v149' })
    expect(read.omitted.artifacts).toBe(30)
    const counts = bodies(stub, '/api/artifacts/count')
    expect(counts).toContainEqual({ artifacts: { flow_run_id: { any_: [RUN_ID] } } })
    expect(counts).toContainEqual({
      artifacts: { flow_run_id: { any_: [RUN_ID] }, key: { any_: expect.arrayContaining(['status', 'k0', 'k39']) } }
    })
  })
})

describe('Prefect results: task runs', () => {
  const taskRun = (fields: Record<string, unknown>) => ({
    id: TASK_RUN_ID,
    name: 'extract-1ab',
    flow_run_id: RUN_ID,
    state_type: 'COMPLETED',
    state_name: 'Completed',
    state: { type: 'COMPLETED', name: 'Completed' },
    expected_start_time: '2026-11-22T18:00:00Z',
    start_time: '2026-11-22T18:00:01.000000Z',
    end_time: '2026-11-22T18:00:03.500000Z',
    total_run_time: 2.5,
    ...fields
  })

  it('reads them by the flow run, in the order they were expected to start, with state, phase and times', async () => {
    const { client, stub } = await connect({
      taskRuns: {
        status: 200,
        json: [
          taskRun({}),
          taskRun({ id: 'b', name: 'check-2cd', state_type: 'FAILED', state_name: 'Failed', total_run_time: 0.01 }),
          taskRun({
            id: 'c',
            name: 'late-3ef',
            state_type: 'SCHEDULED',
            state_name: 'Late',
            start_time: null,
            end_time: null,
            total_run_time: 0
          }),
          taskRun({ id: 'd', name: 'odd', state_type: null, state_name: null, state: { type: 'SOMETHING_NEW', name: 'New' } })
        ]
      }
    })
    const { read } = await results(client)
    expect(bodies(stub, '/api/task_runs/filter')).toEqual([
      { flow_runs: { id: { any_: [RUN_ID] } }, sort: 'EXPECTED_START_TIME_ASC', limit: RESULTS_LIMIT }
    ])
    expect(read.taskRuns).toEqual([
      {
        id: TASK_RUN_ID,
        name: 'extract-1ab',
        state: 'COMPLETED',
        stateName: 'Completed',
        phase: 'succeeded',
        start: '2026-11-22T18:00:01.000000Z',
        end: '2026-11-22T18:00:03.500000Z',
        seconds: 2.5
      },
      expect.objectContaining({ id: 'b', name: 'check-2cd', state: 'FAILED', stateName: 'Failed', phase: 'failed', seconds: 0.01 }),
      // Never ran: no times, and Prefect's 0 seconds is not a time it ran.
      { id: 'c', name: 'late-3ef', state: 'SCHEDULED', stateName: 'Late', phase: 'scheduled' },
      expect.objectContaining({ id: 'd', state: 'SOMETHING_NEW', stateName: 'New', phase: undefined })
    ])
  })

  it('skips a task run without an id, says so, and ignores fields of the wrong type', async () => {
    const { client } = await connect({
      taskRuns: {
        status: 200,
        json: [
          taskRun({ id: 5 }),
          'x',
          taskRun({ name: 3, state_type: 9, state: 'RUNNING', start_time: 'soon', end_time: 12, total_run_time: '2' })
        ]
      }
    })
    const { read, log } = await results(client)
    expect(read.taskRuns).toEqual([{ id: TASK_RUN_ID, name: TASK_RUN_ID, state: 'UNKNOWN', stateName: 'Completed', phase: undefined }])
    expect(log).toMatch(/^::warning::Left out 2 item\(s\) .*: task run 1 of the answer is not an object with an id$/m)
  })

  it('counts the task runs a full page left out', async () => {
    const page = Array.from({ length: RESULTS_LIMIT }, (_, i) => taskRun({ id: `t${i}` }))
    const { client, stub } = await connect({ taskRuns: { status: 200, json: page }, taskRunCount: { status: 200, json: 230 } })
    const { read } = await results(client)
    expect(read.taskRuns).toHaveLength(RESULTS_LIMIT)
    expect(read.omitted).toEqual({ artifacts: 0, taskRuns: 30 })
    expect(bodies(stub, '/api/task_runs/count')).toEqual([{ flow_runs: { id: { any_: [RUN_ID] } } }])
  })

  it("asks again without a limit when the server's page is smaller, and then counts what it left", async () => {
    const { client, stub } = await connect({
      taskRuns: (r) =>
        JSON.parse(r.body).limit === undefined
          ? { status: 200, json: [taskRun({})] }
          : { status: 422, json: { detail: 'Invalid limit: must be less than or equal to 100.' } },
      taskRunCount: { status: 200, json: 1 }
    })
    const { read } = await results(client)
    expect(bodies(stub, '/api/task_runs/filter').map((b) => b.limit)).toEqual([RESULTS_LIMIT, undefined])
    expect(read.taskRuns).toHaveLength(1)
    expect(read.omitted.taskRuns).toBe(0)
  })
})

describe('Prefect results: failures', () => {
  it('throws the error of the read that failed, after the other ended', async () => {
    const { client, stub } = await connect({ taskRuns: { status: 403, json: { detail: 'Forbidden' } } })
    const error = await client.results(RUN_ID, Date.now() + 30_000).then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(FlowDispatchError)
    expect(error).toMatchObject({
      kind: 'auth',
      message: expect.stringMatching(/^Could not read the task runs of flow run .*forbids it \(403 Forbidden\)/)
    })
    expect(stub.requests.map((r) => r.path).sort()).toEqual(['/api/artifacts/filter', '/api/task_runs/filter'])
  })

  it('names both failures when both reads fail', async () => {
    const { client } = await connect({
      artifacts: { status: 200, json: { detail: 'not a list' } },
      taskRuns: { status: 200, text: '<html>proxy</html>' }
    })
    await expect(client.results(RUN_ID, Date.now() + 30_000)).rejects.toThrow(
      new RegExp(
        `^Could not read what flow run ${RUN_ID} produced: Could not read the artifacts of flow run ${RUN_ID}: the answer was not a list; ` +
          `read the task runs of flow run ${RUN_ID}: the answer was not JSON`
      )
    )
  })

  it.each([
    ['a count that is not a number', { status: 200, json: '230' }],
    ['a negative count', { status: 200, json: -1 }]
  ])('refuses %s', async (_, count) => {
    const page = Array.from({ length: RESULTS_LIMIT }, (_, i) => ({ id: `t${i}` }))
    const { client } = await connect({ taskRuns: { status: 200, json: page }, taskRunCount: count as Reply })
    await expect(client.results(RUN_ID, Date.now() + 30_000)).rejects.toThrow(
      /Could not count the task runs of flow run .*: the answer was not a count/
    )
  })

  it('sends nothing once the deadline has passed', async () => {
    const { client, stub } = await connect({})
    await expect(client.results(RUN_ID, Date.now() - 1)).rejects.toBeInstanceOf(FlowDispatchError)
    expect(stub.requests).toHaveLength(0)
  })

  it('gives up on a server that stalls at the deadline, not after', async () => {
    const { client } = await connect({ artifacts: 'stall', taskRuns: 'stall' })
    const started = Date.now()
    const error = await client.results(RUN_ID, started + 500).then(
      () => undefined,
      (e: unknown) => e
    )
    const took = Date.now() - started
    expect(error).toMatchObject({ kind: 'transient', message: expect.stringContaining('did not answer') })
    expect(took).toBeGreaterThanOrEqual(450)
    expect(took).toBeLessThan(2_000)
  })
})
