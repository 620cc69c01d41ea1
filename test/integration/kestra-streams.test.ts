import { describe, expect, inject, it } from 'vitest'
import { type ActionResult, runAction } from '../support/action.ts'
import { basicAuthorization } from '../support/basic-auth.ts'
import { explain } from '../support/explain.ts'
import { type Fault, type ProxiedRequest, startFaultProxy } from '../support/fault-proxy.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { uniqueTag } from '../support/unique.ts'

/**
 * The wait listens to the real Kestra server rather than polling it: the
 * execution's state stream (`/executions/{id}/follow`) and its log stream
 * (`/logs/{id}/follow`), with a safety read every 30 s. A fault proxy between
 * the step and the server counts what is asked and breaks the streams the
 * ways a network or a proxy breaks them.
 *
 * Not here: a server restarted mid-wait. The shared server keeps everything in
 * an in-memory H2 database and queue (config.template.yml: "every start is a
 * fresh, empty instance"), so a restarted server no longer knows the
 * execution; what the step does then is a 404, not a stream coming back.
 */

const kestra = inject('kestra')
const basic = basicAuthorization(kestra)

interface Execution {
  id: string
  state: { current: string; endDate?: string; histories: Array<{ state: string; date: string }> }
}

async function execution(id: string): Promise<Execution> {
  const response = await fetch(`${kestra.url}/api/v1/main/executions/${id}`, { headers: { authorization: basic } })
  if (!response.ok) throw new Error(`execution ${id}: ${response.status} ${await response.text()}`)
  return (await response.json()) as Execution
}

async function kill(id: string): Promise<void> {
  const response = await fetch(`${kestra.url}/api/v1/main/executions/${id}/kill`, { method: 'DELETE', headers: { authorization: basic } })
  if (response.status !== 202) throw new Error(`kill ${id}: ${response.status} ${await response.text()}`)
}

/** `counts_aloud` logs `line 1`..`line 3`, sleeps `pause`, logs `line 4`..`line 6`. */
const counting = (url: string, pause: string) => ({
  orchestrator: 'kestra',
  url,
  username: kestra.username,
  password: kestra.password,
  namespace: 'dev',
  flow: 'counts_aloud',
  parameters: `pause: ${pause}`,
  labels: `test=${uniqueTag('s')}`,
  'poll-interval': '1s'
})

const ALL_LINES = ['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']

/** The states the step printed as it saw them (`<time>  RUNNING (RUNNING)`), in order. */
function printedStates(stdout: string): string[] {
  return [...stdout.matchAll(/^\d{4}-\d\d-\d\dT[\d:]+Z {2}([A-Z_]+) \([A-Z_]+\)/gm)].map((m) => m[1])
}

/** The flow's numbered log lines the step printed, in order (the Sleep task logs a line of its own). */
function printedLines(stdout: string): string[] {
  return [...stdout.matchAll(/ INFO {5}(line \d)$/gm)].map((m) => m[1])
}

/** When the execution ended by the server's clock (the same machine's): its end date, or its last state's. */
function endedAt(held: Execution): number {
  return Date.parse(held.state.endDate ?? held.state.histories.at(-1)?.date ?? '')
}

/** The step, run as the runner runs it, with the time its process exited. */
async function timed(inputs: Record<string, string>, watch?: (stdout: string) => void): Promise<ActionResult & { exitedAt: number }> {
  const result = await runAction(inputs, { RUNNER_DEBUG: '1' }, { watch: watch && ((stdout) => watch(stdout)) })
  return { ...result, exitedAt: Date.now() }
}

const runId = (result: ActionResult): string => result.outputs['run-id']

const statePath = (id: string) => `/api/v1/main/executions/${id}`
const stateReads = (requests: ProxiedRequest[], id: string) => requests.filter((r) => r.method === 'GET' && r.path === statePath(id))
const stateFollows = (requests: ProxiedRequest[], id: string) => requests.filter((r) => r.path === `${statePath(id)}/follow`)
const logFollows = (requests: ProxiedRequest[], id: string) => requests.filter((r) => r.path === `/api/v1/main/logs/${id}/follow`)
const isStateFollow = (path: string) => /^\/api\/v1\/main\/executions\/\w+\/follow$/.test(path)

const pass: Fault = { kind: 'pass' }

/**
 * Each printed state once, in the order the server went through them; none it did not. Not every one: a read
 * may pass over a state that lasted less than a poll, and KILLING lasts milliseconds: 2 kills in 7 printed
 * RUNNING, then KILLED, with the state stream live.
 */
function expectStatesOnce(result: ActionResult, held: Execution): void {
  const printed = printedStates(result.stdout)
  expect(new Set(printed).size, explain(result)).toBe(printed.length)
  const history = held.state.histories.map((h) => h.state)
  expect(
    printed.filter((state) => !history.includes(state)),
    explain(result)
  ).toEqual([])
  expect(
    printed.map((state) => history.indexOf(state)),
    explain(result)
  ).toEqual([...printed.map((state) => history.indexOf(state))].sort((a, b) => a - b))
}

describe('Kestra streams, against the real server through a fault proxy', () => {
  const startProxy = closedAfterEach(startFaultProxy)

  describe('healthy streams', () => {
    it('prints CREATED, RUNNING, SUCCESS once each and every log line once, in order, and exits within 3 s of the end', {
      timeout: 60_000
    }, async () => {
      const via = await startProxy(kestra.url, () => pass)
      const result = await timed(counting(via.url, 'PT5S'))
      expect(result.code, explain(result)).toBe(0)
      expect(result.outputs).toMatchObject({ outcome: 'success', state: 'SUCCESS', 'state-name': 'SUCCESS' })
      const id = runId(result)
      const held = await execution(id)
      expect(printedStates(result.stdout)).toEqual(['CREATED', 'RUNNING', 'SUCCESS'])
      expect(held.state.histories.map((h) => h.state)).toEqual(['CREATED', 'RUNNING', 'SUCCESS'])
      expect(printedLines(result.stdout), explain(result)).toEqual(ALL_LINES)
      expect(result.stdout).not.toMatch(/Not using|dropped|did not open/)
      expect(stateFollows(via.requests, id)).toHaveLength(1)
      expect(logFollows(via.requests, id)).toHaveLength(1)
      const lag = result.exitedAt - endedAt(held)
      console.log(`healthy: exited ${lag} ms after the execution's end; requests:`, timeline(via.requests))
      expect(lag, explain(result)).toBeLessThan(3_000)
    })

    it('a FAILED execution: outcome failed, its states once each', { timeout: 60_000 }, async () => {
      const via = await startProxy(kestra.url, () => pass)
      const result = await timed({ ...counting(via.url, 'PT1S'), flow: 'fails', parameters: '' })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs).toMatchObject({ outcome: 'failed', state: 'FAILED' })
      const held = await execution(runId(result))
      expect(printedStates(result.stdout)).toEqual(['CREATED', 'RUNNING', 'FAILED'])
      expectStatesOnce(result, held)
      expect(result.stdout).toContain('failing on purpose')
      expect(stateFollows(via.requests, runId(result))).toHaveLength(1)
      expect(result.exitedAt - endedAt(held), explain(result)).toBeLessThan(3_000)
    })

    it('an execution killed through the API mid-run: outcome cancelled, the lines before the kill once', { timeout: 90_000 }, async () => {
      const via = await startProxy(kestra.url, () => pass)
      let killing: Promise<void> | undefined
      let fallback: NodeJS.Timeout | undefined
      const result = await timed(counting(via.url, 'PT60S'), (stdout) => {
        const id = /Created Kestra run '(\w+)'/.exec(stdout)?.[1]
        if (killing || !id) return
        if (/ INFO {5}line 3$/m.test(stdout)) killing = kill(id)
        // Should the lines never come, the kill still does, and the assertion on them says so without a minute's wait.
        else if (!fallback && stdout.includes('RUNNING (RUNNING)')) fallback = setTimeout(() => (killing ??= kill(id)), 3_000)
      })
      clearTimeout(fallback)
      await killing
      expect(killing, explain(result)).toBeDefined()
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs).toMatchObject({ outcome: 'cancelled', state: 'KILLED' })
      const held = await execution(runId(result))
      expect(held.state.current).toBe('KILLED')
      // KILLING lasts a few milliseconds: it is not always printed (see expectStatesOnce), and nothing is printed twice.
      expectStatesOnce(result, held)
      expect(printedStates(result.stdout).slice(0, 2)).toEqual(['CREATED', 'RUNNING'])
      expect(printedStates(result.stdout).at(-1)).toBe('KILLED')
      expect(printedLines(result.stdout), explain(result)).toEqual(['line 1', 'line 2', 'line 3'])
      expect(result.exitedAt - endedAt(held), explain(result)).toBeLessThan(3_000)
    })
  })

  it('asks for the state at most a few times while the streams are live, and opens each stream once', { timeout: 120_000 }, async () => {
    const via = await startProxy(kestra.url, () => pass)
    const result = await timed(counting(via.url, 'PT40S'))
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'SUCCESS' })
    const id = runId(result)
    const held = await execution(id)
    const reads = stateReads(via.requests, id)
    console.log(
      `requests of a ${((endedAt(held) - Date.parse(held.state.histories[0].date)) / 1000).toFixed(1)} s execution:`,
      timeline(via.requests)
    )
    expect(stateFollows(via.requests, id)).toHaveLength(1)
    expect(logFollows(via.requests, id)).toHaveLength(1)
    // One read when the stream opens (it may have missed what came before), one safety read per 30 s while it is
    // live, one to confirm the end it announced, and one more when its `end` (a change of health) is taken in a
    // later wake than the announced end. Everything else comes pushed: no read per state, none per log line.
    const lasted = endedAt(held) - Date.parse(held.state.histories[0].date)
    expect(reads.length, timeline(via.requests)).toBeGreaterThanOrEqual(2)
    expect(reads.length, timeline(via.requests)).toBeLessThanOrEqual(3 + Math.floor(lasted / 30_000))
    expect(printedLines(result.stdout), explain(result)).toEqual(ALL_LINES)
  })

  it('polls when the state stream never opens, and says so once', { timeout: 60_000 }, async () => {
    const via = await startProxy(kestra.url, (request) => (isStateFollow(request.path) ? { kind: 'status', status: 404 } : pass))
    const result = await timed(counting(via.url, 'PT6S'))
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'SUCCESS' })
    const id = runId(result)
    const said = result.stdout.split('\n').filter((line) => line.includes('Not using the state stream'))
    expect(said).toEqual([
      `Not using the state stream of execution ${id}: the server answered HTTP 404 (application/json); reading its state every 1s instead`
    ])
    expect(stateReads(via.requests, id).length).toBeGreaterThanOrEqual(4)
    expectStatesOnce(result, await execution(id))
    expect(printedLines(result.stdout), explain(result)).toEqual(ALL_LINES)
  })

  it('opens the state stream again when it drops mid-run, and prints nothing twice', { timeout: 60_000 }, async () => {
    let dropped = false
    const via = await startProxy(kestra.url, (request) => {
      if (!isStateFollow(request.path) || dropped) return pass
      dropped = true
      return { kind: 'drop-after', afterMs: 3_000 }
    })
    const result = await timed(counting(via.url, 'PT8S'))
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'SUCCESS' })
    const id = runId(result)
    expect(stateFollows(via.requests, id).length).toBeGreaterThanOrEqual(2)
    expect(result.stdout).toMatch(new RegExp(`The state stream of execution ${id} dropped`))
    const held = await execution(id)
    expect(printedStates(result.stdout)).toEqual(['CREATED', 'RUNNING', 'SUCCESS'])
    expectStatesOnce(result, held)
    expect(printedLines(result.stdout), explain(result)).toEqual(ALL_LINES)
  })

  it('ends within a safety read of the end when the state stream stalls, and prints nothing twice', { timeout: 120_000 }, async () => {
    const via = await startProxy(kestra.url, (request) => (isStateFollow(request.path) ? { kind: 'stall' } : pass))
    const result = await timed(counting(via.url, 'PT10S'))
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'success', state: 'SUCCESS' })
    const id = runId(result)
    const held = await execution(id)
    const lag = result.exitedAt - endedAt(held)
    console.log(`stalled: exited ${lag} ms after the end;`, timeline(via.requests))
    // The stream opened (its head came) and then said nothing: the step learnt of the end from the safety read,
    // 30 s after the read it made when the stream opened, which was before the end.
    expect(lag, explain(result)).toBeLessThan(40_000)
    const follow = stateFollows(via.requests, id)[0]
    expect(
      stateReads(via.requests, id).some((read) => read.at - follow.at >= 29_000),
      timeline(via.requests)
    ).toBe(true)
    expectStatesOnce(result, held)
    expect(printedStates(result.stdout).at(-1)).toBe('SUCCESS')
    expect(printedLines(result.stdout), explain(result)).toEqual(ALL_LINES)
  })
})

function timeline(requests: ProxiedRequest[]): string {
  const start = requests[0]?.at ?? 0
  return requests.map((r) => `\n  +${((r.at - start) / 1000).toFixed(1)}s ${r.method} ${r.path} ${r.fault.kind}`).join('')
}
