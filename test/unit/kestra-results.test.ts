import { describe, expect, it } from 'vitest'
import { FlowDispatchError } from '../../src/errors.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import { KestraClient } from '../../src/kestra/client.js'
import type { KestraInputs } from '../../src/kestra/inputs.js'
import { isoSeconds } from '../../src/kestra/results.js'
import { fakeClock } from '../support/clock.ts'
import { useActionEnvironment } from '../support/env.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Reply, type Stub, startStub } from '../support/stub-server.ts'

const env = useActionEnvironment()
const host = new ActionsHost()
const serve = closedAfterEach(startStub)
const EXECUTION_ID = 'vLXUa9hWaVinT9vRalkSN'

/** A client of a stub server that answers every request with `reply`. */
async function connect(reply: Reply | (() => Reply)): Promise<{ client: KestraClient; stub: Stub; deadline: number }> {
  const stub = await serve(typeof reply === 'function' ? reply : () => reply)
  env.setInputs({
    orchestrator: 'kestra',
    url: stub.url,
    namespace: 'dev',
    flow: 'explore',
    username: 'ci@example.com',
    password: 'Ci-Passw0rd'
  })
  // Where the run came from plays no part in reading what it produced.
  const origin = {}
  const clock = fakeClock()
  const client = new KestraClient(getInputs(host) as KestraInputs, { host, origin, userAgent: 'ua', clock })
  return { client, stub, deadline: clock.now() + 60_000 }
}

const execution = (taskRunList: unknown): Reply => ({
  status: 200,
  json: { id: EXECUTION_ID, namespace: 'dev', flowId: 'explore', taskRunList }
})

/** A state as Kestra 1.3 writes it: histories, startDate (the first entry), endDate and duration once ended or paused. */
function state(current: string, histories: Array<[string, string]>, ended = true): object {
  const dates = histories.map(([s, date]) => ({ state: s, date }))
  const first = Date.parse(histories[0][1])
  const last = histories.at(-1)?.[1] ?? ''
  return {
    current,
    histories: dates,
    startDate: histories[0][1],
    ...(ended && { endDate: last, duration: `PT${(Date.parse(last) - first) / 1000}S` })
  }
}

/**
 * An execution of a flow with a ForEach, as the shared Kestra 1.3 server answered (attempts and ids trimmed):
 * Kestra lists task runs as it creates them, a loop's children after the loop.
 */
const LOOP_FLOW_RUNS = [
  {
    id: '5SJD0iRJCqRIr5PE19HZgR',
    taskId: 'start',
    state: state('SUCCESS', [
      ['CREATED', '2026-11-26T05:35:19.180963Z'],
      ['SUBMITTED', '2026-11-26T05:35:19.246514Z'],
      ['RUNNING', '2026-11-26T05:35:19.344190Z'],
      ['SUCCESS', '2026-11-26T05:35:19.389844Z']
    ])
  },
  {
    id: '4kWdlbBOHwliNt6V9tPt21',
    taskId: 'loop',
    state: state('SUCCESS', [
      ['CREATED', '2026-11-26T05:35:19.515223Z'],
      ['RUNNING', '2026-11-26T05:35:19.559537Z'],
      ['SUCCESS', '2026-11-26T05:35:20.109907Z']
    ])
  },
  {
    id: '6SAAbifGw0sEU0cvHPUWQ2',
    taskId: 'process',
    parentTaskRunId: '4kWdlbBOHwliNt6V9tPt21',
    value: 'a',
    iteration: 0,
    state: state('SUCCESS', [
      ['CREATED', '2026-11-26T05:35:19.599549Z'],
      ['SUBMITTED', '2026-11-26T05:35:19.632553Z'],
      ['RUNNING', '2026-11-26T05:35:19.699299Z'],
      ['SUCCESS', '2026-11-26T05:35:19.837327Z']
    ])
  },
  {
    id: 'foJd93fIxbpNN005wJNLW',
    taskId: 'process',
    parentTaskRunId: '4kWdlbBOHwliNt6V9tPt21',
    value: 'b',
    iteration: 1,
    state: state('SUCCESS', [
      ['CREATED', '2026-11-26T05:35:19.896934Z'],
      ['SUBMITTED', '2026-11-26T05:35:19.962520Z'],
      ['RUNNING', '2026-11-26T05:35:20.010581Z'],
      ['SUCCESS', '2026-11-26T05:35:20.041347Z']
    ])
  },
  {
    id: 'hKWxttIXsPbsIeTkOzshP',
    taskId: 'finish',
    state: state('FAILED', [
      ['CREATED', '2026-11-26T05:35:21.274391Z'],
      ['SUBMITTED', '2026-11-26T05:35:21.298433Z'],
      ['RUNNING', '2026-11-26T05:35:21.331234Z'],
      ['FAILED', '2026-11-26T05:35:21.351072Z']
    ])
  }
]

describe('Kestra results', () => {
  it("reads the task runs from the execution: the task id with a loop's value, the state, when it went RUNNING and ended", async () => {
    const { client, stub, deadline } = await connect(execution(LOOP_FLOW_RUNS))
    const results = await client.results(EXECUTION_ID, deadline)
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/v1/main/executions/${EXECUTION_ID}`])
    expect(results.artifacts).toEqual([])
    expect(results.omitted).toEqual({ artifacts: 0, taskRuns: 0 })
    expect(results.taskRuns.map((run) => run.name)).toEqual(['start', 'loop', 'process [a]', 'process [b]', 'finish'])
    expect(results.taskRuns[2]).toEqual({
      id: '6SAAbifGw0sEU0cvHPUWQ2',
      name: 'process [a]',
      state: 'SUCCESS',
      stateName: 'SUCCESS',
      phase: 'succeeded',
      // Its RUNNING entry, not its startDate (its creation), at the millisecond.
      start: '2026-11-26T05:35:19.699Z',
      end: '2026-11-26T05:35:19.837Z',
      seconds: 0.138
    })
    expect(results.taskRuns[4]).toMatchObject({ name: 'finish', state: 'FAILED', phase: 'failed', seconds: 0.02 })
  })

  it('orders them by when they started, those that started together and those that never did (last) in the order Kestra lists them', async () => {
    const at = (time: string): string => `2026-01-01T00:00:${time}Z`
    const runs = [
      {
        id: '1',
        taskId: 'late',
        state: state('SUCCESS', [
          ['CREATED', at('00')],
          ['RUNNING', at('30')],
          ['SUCCESS', at('40')]
        ])
      },
      { id: '2', taskId: 'waiting', state: state('CREATED', [['CREATED', at('01')]], false) },
      {
        id: '3',
        taskId: 'tie-one',
        state: state('SUCCESS', [
          ['CREATED', at('02')],
          ['RUNNING', at('10')],
          ['SUCCESS', at('11')]
        ])
      },
      {
        id: '4',
        taskId: 'early',
        state: state('SUCCESS', [
          ['CREATED', at('03')],
          ['RUNNING', at('05')],
          ['SUCCESS', at('06')]
        ])
      },
      {
        id: '5',
        taskId: 'skipped',
        state: state('SKIPPED', [
          ['CREATED', at('04')],
          ['SKIPPED', at('04')]
        ])
      },
      {
        id: '6',
        taskId: 'tie-two',
        state: state('SUCCESS', [
          ['CREATED', at('05')],
          ['RUNNING', at('10')],
          ['SUCCESS', at('12')]
        ])
      }
    ]
    const { client, deadline } = await connect(execution(runs))
    const { taskRuns } = await client.results(EXECUTION_ID, deadline)
    expect(taskRuns.map((run) => run.name)).toEqual(['early', 'tie-one', 'tie-two', 'late', 'waiting', 'skipped'])
  })

  it('gives a run no end until it has ended, and no run time to one that never ran', async () => {
    const at = (time: string): string => `2026-01-01T00:00:${time}Z`
    const runs = [
      {
        id: '1',
        taskId: 'busy',
        state: state(
          'RUNNING',
          [
            ['CREATED', at('00')],
            ['RUNNING', at('01')]
          ],
          false
        )
      },
      // Kestra gives a paused task run an endDate and a duration, as if it had ended.
      {
        id: '2',
        taskId: 'held',
        state: state('PAUSED', [
          ['CREATED', at('02')],
          ['RUNNING', at('03')],
          ['PAUSED', at('04')]
        ])
      },
      {
        id: '3',
        taskId: 'killed',
        state: state('KILLED', [
          ['CREATED', at('05')],
          ['KILLED', at('09')]
        ])
      },
      {
        id: '4',
        taskId: 'resumed',
        state: state('SUCCESS', [
          ['CREATED', at('10')],
          ['RUNNING', at('11')],
          ['PAUSED', at('12')],
          ['RUNNING', at('20')],
          ['SUCCESS', at('21.5')]
        ])
      },
      { id: '5', taskId: 'queued', state: state('CREATED', [['CREATED', at('22')]], false) }
    ]
    const { client, deadline } = await connect(execution(runs))
    const { taskRuns } = await client.results(EXECUTION_ID, deadline)
    const brief = taskRuns.map(({ name, phase, start, end, seconds }) => ({ name, phase, start, end, seconds }))
    expect(brief).toEqual([
      { name: 'busy', phase: 'running', start: at('01.000'), end: undefined, seconds: undefined },
      { name: 'held', phase: 'paused', start: at('03.000'), end: undefined, seconds: undefined },
      { name: 'resumed', phase: 'succeeded', start: at('11.000'), end: at('21.500'), seconds: 10.5 },
      { name: 'killed', phase: 'cancelled', start: undefined, end: at('09.000'), seconds: undefined },
      { name: 'queued', phase: 'pending', start: undefined, end: undefined, seconds: undefined }
    ])
  })

  it("takes Kestra's duration for the run time only where there are no histories to say when it ran", async () => {
    const runs = [
      { id: '1', taskId: 'bare', state: { current: 'SUCCESS', duration: 'PT1M2.5S', endDate: '2026-01-01T00:01:00Z' } },
      { id: '2', taskId: 'running', state: { current: 'RUNNING', duration: 'PT3S' } },
      { id: '3', taskId: 'garbled', state: { current: 'FAILED', duration: 'three seconds', histories: 'none' } }
    ]
    const { client, deadline } = await connect(execution(runs))
    const { taskRuns } = await client.results(EXECUTION_ID, deadline)
    expect(taskRuns.map(({ name, end, seconds }) => ({ name, end, seconds }))).toEqual([
      { name: 'bare', end: '2026-01-01T00:01:00.000Z', seconds: 62.5 },
      { name: 'running', end: undefined, seconds: undefined },
      { name: 'garbled', end: undefined, seconds: undefined }
    ])
  })

  it('reads ISO 8601 durations as Java writes them, and a few it does not', () => {
    const cases: Array<[unknown, number | undefined]> = [
      ['PT1.234S', 1.234],
      ['PT0.026495S', 0.026495],
      ['PT26H3M', 93_780],
      ['PT8H6M12.345S', 29_172.345],
      ['P2DT1S', 172_801],
      ['P1W', 604_800],
      ['pt1,5s', 1.5],
      [' PT2S ', 2],
      ['PT1H-30M', 1_800],
      [12.5, 12.5],
      ['PT-0.5S', undefined],
      ['-PT1S', undefined],
      [-1, undefined],
      ['P', undefined],
      ['PT', undefined],
      ['P1DT', undefined],
      ['PT1.S', 1],
      ['1.5', undefined],
      ['P1Y', undefined],
      ['PT1S trailing', undefined],
      [Number.POSITIVE_INFINITY, undefined],
      [null, undefined],
      [{ seconds: 1 }, undefined]
    ]
    expect(cases.map(([duration]) => isoSeconds(duration))).toEqual(cases.map(([, seconds]) => seconds))
  })

  it('reads what it can of a malformed answer and leaves out what names no task, without failing', async () => {
    const runs = [
      null,
      42,
      'start',
      [],
      {},
      { id: 7, taskId: ['x'], state: { current: 'SUCCESS' } },
      { id: 'a1', taskId: 'no-state', state: 'SUCCESS' },
      { id: 'a2', taskId: 'odd-types', value: { item: 1 }, state: { current: 7, histories: 'RUNNING', endDate: 5, duration: 5 } },
      {
        taskId: 'no-id',
        value: 3,
        state: {
          current: 'SUCCESS',
          endDate: 'yesterday-ish',
          histories: [null, 'RUNNING', { state: 'RUNNING' }, { state: 'RUNNING', date: 'not a date' }, { state: 'RUNNING', date: 1 }]
        }
      },
      { id: 'a3', state: { current: 'NEW_IN_KESTRA_9', histories: [{ state: 'RUNNING', date: '2026-01-01T00:00:00Z' }] } }
    ]
    const { client, deadline } = await connect(execution(runs))
    const { taskRuns, omitted } = await client.results(EXECUTION_ID, deadline)
    expect(omitted.taskRuns).toBe(0)
    expect(taskRuns).toEqual([
      { id: 'a3', name: 'a3', state: 'NEW_IN_KESTRA_9', stateName: 'NEW_IN_KESTRA_9', phase: undefined, start: '2026-01-01T00:00:00.000Z' },
      { id: 'a1', name: 'no-state', state: 'UNKNOWN', stateName: 'UNKNOWN', phase: undefined },
      { id: 'a2', name: 'odd-types', state: 'UNKNOWN', stateName: 'UNKNOWN', phase: undefined },
      { id: '', name: 'no-id [3]', state: 'SUCCESS', stateName: 'SUCCESS', phase: 'succeeded' }
    ])
  })

  it('finds no task runs in an execution without a list of them', async () => {
    for (const json of [{ id: EXECUTION_ID }, { taskRunList: null }, { taskRunList: { id: 'x', taskId: 'y' } }, [], 'text', null]) {
      const { client, deadline } = await connect({ status: 200, json })
      expect(await client.results(EXECUTION_ID, deadline)).toEqual({ artifacts: [], taskRuns: [], omitted: { artifacts: 0, taskRuns: 0 } })
    }
  })

  it('says the execution is gone when it answers 404, and what it answered when that is not JSON', async () => {
    const gone = await connect({ status: 404, json: { message: 'Not Found' } })
    const error = await gone.client.results(EXECUTION_ID, gone.deadline).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(FlowDispatchError)
    expect(error).toMatchObject({ kind: 'not-found', message: expect.stringContaining(`has no execution ${EXECUTION_ID}: it was deleted`) })
    const html = await connect({ status: 200, text: '<html>proxy</html>' })
    await expect(html.client.results(EXECUTION_ID, html.deadline)).rejects.toThrow(
      `read the task runs of execution ${EXECUTION_ID}: the answer was not JSON`
    )
  })

  it('keeps the 200 that started first and counts the rest', async () => {
    // Listed latest first, so a cut before the sort would keep the wrong ones.
    const runs = Array.from({ length: 250 }, (_, i) => {
      const n = 249 - i
      const running = new Date(Date.parse('2026-01-01T00:00:00Z') + n * 1000).toISOString()
      return { id: `run-${n}`, taskId: 'each', value: String(n), state: state('RUNNING', [['RUNNING', running]], false) }
    })
    const { client, deadline } = await connect(execution(runs))
    const { taskRuns, omitted } = await client.results(EXECUTION_ID, deadline)
    expect(omitted).toEqual({ artifacts: 0, taskRuns: 50 })
    expect(taskRuns).toHaveLength(200)
    expect(taskRuns[0].name).toBe('each [0]')
    expect(taskRuns.at(-1)?.name).toBe('each [199]')
  })

  it("shows the start of a long loop value, and uses the tenant's path", async () => {
    const value = JSON.stringify({ path: 'x'.repeat(200) })
    const { client, stub, deadline } = await connect(execution([{ id: 'r', taskId: 'process', value, state: { current: 'SUCCESS' } }]))
    const [run] = (await client.results('id with/slash', deadline)).taskRuns
    expect(run.name).toBe(`process [${value.slice(0, 79)}…]`)
    expect(stub.requests[0].path).toBe('/api/v1/main/executions/id%20with%2Fslash')
  })
})
