import { describe, expect, inject, it } from 'vitest'
import { type ActionResult, runAction } from '../support/action.ts'
import { basicAuthorization } from '../support/basic-auth.ts'
import { explain } from '../support/explain.ts'
import { type Fault, type FaultProxy, seeded, startFaultProxy } from '../support/fault-proxy.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { flowRunsTagged } from '../support/prefect-api.ts'
import { uniqueRunId, uniqueTag } from '../support/unique.ts'

const prefect = inject('prefect')
const kestra = inject('kestra')
const kestraAuth = basicAuthorization(kestra)
const proxy = closedAfterEach(startFaultProxy)

/** Faults the first `times` requests that `matches` picks; lets everything else through. */
function script(...steps: Array<{ matches: (r: { method: string; path: string }) => boolean; fault: Fault; times?: number }>) {
  const left = steps.map((step) => step.times ?? 1)
  return (request: { method: string; path: string }): Fault => {
    const i = steps.findIndex((step, n) => left[n] > 0 && step.matches(request))
    if (i < 0) return { kind: 'pass' }
    left[i]--
    return steps[i].fault
  }
}

const isCreate = (r: { method: string; path: string }) => r.method === 'POST' && r.path.endsWith('/create_flow_run')
const isRead = (r: { method: string; path: string }) => r.method === 'GET' && r.path.startsWith('/api/flow_runs/')

/** A busy SQLite store may answer a forwarded request 503 (or so); the action retries it, so tests count only the others. */
const answered = (r: { status?: number }) => !(r.status !== undefined && (r.status === 408 || r.status === 429 || r.status >= 500))

const prefectRuns = (tag: string) => flowRunsTagged(prefect, tag)
const tag = (): string => uniqueTag('fault')

function runPrefect(via: FaultProxy, runTag: string, extra: Record<string, string> = {}): Promise<ActionResult> {
  return runAction(
    {
      orchestrator: 'prefect',
      url: via.url,
      deployment: 'it-flow/it-deployment',
      tags: runTag,
      'poll-interval': '1s',
      timeout: '90s',
      ...extra
    },
    // One GitHub run per action run: a fault must never merge two of them through the idempotency key.
    { GITHUB_RUN_ID: uniqueRunId() }
  )
}

describe('scripted faults between the action and a real Prefect server', () => {
  it('a create whose answer is lost is retried into the same run, not a second one', async () => {
    const runTag = tag()
    const via = await proxy(prefect.apiUrl, script({ matches: isCreate, fault: { kind: 'drop-after' } }))
    const result = await runPrefect(via, runTag)
    expect(result.code, explain(result)).toBe(0)
    // The lost one and its retry; a busy SQLite store (503) may cost more, each retried, which the key makes harmless.
    const creates = via.requests.filter(isCreate)
    expect(creates[0].fault.kind).toBe('drop-after')
    expect(creates.filter(answered)).toHaveLength(2)
    const runs = await prefectRuns(runTag)
    expect(runs).toHaveLength(1)
    expect(runs[0].id).toBe(result.outputs['run-id'])
  })

  it('a create refused with 503 is retried; reads through 502, 500 and a dropped connection go on', async () => {
    const runTag = tag()
    const via = await proxy(
      prefect.apiUrl,
      script(
        { matches: isCreate, fault: { kind: 'status', status: 503 } },
        { matches: isRead, fault: { kind: 'status', status: 502 } },
        { matches: isRead, fault: { kind: 'status', status: 500 } },
        { matches: isRead, fault: { kind: 'drop-before' } },
        { matches: (r) => r.path.startsWith('/api/deployments/name/'), fault: { kind: 'drop-before' } }
      )
    )
    const result = await runPrefect(via, runTag)
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs.outcome).toBe('success')
    // Every fault of the script was met, and each was got past by a request that passed.
    expect(via.requests.filter((r) => r.fault.kind !== 'pass').map((r) => [r.method, r.fault])).toEqual([
      ['GET', { kind: 'drop-before' }],
      ['POST', { kind: 'status', status: 503 }],
      ['GET', { kind: 'status', status: 502 }],
      ['GET', { kind: 'status', status: 500 }],
      ['GET', { kind: 'drop-before' }]
    ])
    expect(
      via.requests
        .filter(isCreate)
        .filter(answered)
        .map((r) => r.fault.kind)
    ).toEqual(['status', 'pass'])
    expect(await prefectRuns(runTag)).toHaveLength(1)
  })

  it('honours Retry-After, and waits out a slow body', async () => {
    const via = await proxy(
      prefect.apiUrl,
      script(
        { matches: isRead, fault: { kind: 'status', status: 429, retryAfter: '2' } },
        { matches: isCreate, fault: { kind: 'slow', slowMs: 1500 } }
      )
    )
    const result = await runPrefect(via, tag())
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs.outcome).toBe('success')
    // The create's answer came slowly, and was waited for: one create, and the run it made followed.
    expect(via.requests.filter(isCreate).map((r) => r.fault.kind)).toEqual(['slow'])
    const reads = via.requests.filter(isRead)
    const limited = reads.findIndex((r) => r.fault.kind === 'status')
    const pauseMs = reads[limited + 1].at - reads[limited].at
    console.log(`Retry-After: 2 s asked, ${pauseMs} ms measured before the next request`)
    expect(pauseMs).toBeGreaterThanOrEqual(2_000)
    expect(pauseMs).toBeLessThan(3_000)
  })
})

function runKestra(via: FaultProxy, runTag: string, flow = 'hello'): Promise<ActionResult> {
  return runAction(
    {
      orchestrator: 'kestra',
      url: via.url,
      username: kestra.username,
      password: kestra.password,
      namespace: 'dev',
      flow,
      labels: `test=${runTag}`,
      'poll-interval': '1s',
      timeout: '90s'
    },
    { GITHUB_RUN_ID: uniqueRunId() }
  )
}

const isKestraCreate = (r: { method: string; path: string }) => r.method === 'POST' && r.path.startsWith('/api/v1/main/executions/dev/')

/** Executions labelled test=<tag>, once a new one has had time to become visible. */
async function kestraExecutions(runTag: string): Promise<Array<{ id: string; state: { current: string } }>> {
  const query = new URLSearchParams({ 'filters[labels][EQUALS][test]': runTag, size: '10' })
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  const response = await fetch(`${kestra.url}/api/v1/main/executions/search?${query}`, { headers: { authorization: kestraAuth } })
  return ((await response.json()) as { results: Array<{ id: string; state: { current: string } }> }).results
}

describe('scripted faults between the action and a real Kestra server', () => {
  it.each([
    ['its answer is lost', { kind: 'drop-after' } as Fault, 1],
    ['it is refused with 503', { kind: 'status', status: 503 } as Fault, 2]
  ])('a create is never repeated blindly when %s', async (_, fault, creates) => {
    const runTag = tag()
    const via = await proxy(kestra.url, script({ matches: isKestraCreate, fault }))
    const result = await runKestra(via, runTag)
    expect(result.code, explain(result)).toBe(0)
    expect(via.requests.filter(isKestraCreate)).toHaveLength(creates)
    // A create after the first follows a look-up by key that found nothing.
    const order = via.requests.map((r) => (isKestraCreate(r) ? 'create' : r.path.includes('/executions/search') ? 'search' : 'other'))
    for (const [i, kind] of order.entries()) if (kind === 'create' && order.indexOf('create') < i) expect(order[i - 1]).toBe('search')
    expect(await kestraExecutions(runTag)).toHaveLength(1)
  })
})

interface SeriesRun {
  result: ActionResult
  /** What the server holds for this action run: id and final state of each run it made. */
  runs: Array<{ id: string; state: string }>
}

/**
 * Runs the action `RUNS` times, each through its own proxy that faults about one
 * request in six at random (never two in a row, so every retry can succeed),
 * from a fixed seed; each run must make exactly one run on the server, report
 * its real end, and end.
 */
async function seededSeries(
  target: string,
  expected: (fail: boolean) => { state: string; outcome: string; code: number },
  runOne: (via: FaultProxy, fail: boolean) => Promise<SeriesRun>
): Promise<void> {
  const RUNS = 50
  const AT_ONCE = 5
  const FAULTS: Fault[] = [
    { kind: 'drop-before' },
    { kind: 'drop-after' },
    { kind: 'status', status: 500 },
    { kind: 'status', status: 502 },
    { kind: 'status', status: 503 },
    { kind: 'status', status: 429, retryAfter: '1' },
    { kind: 'slow', slowMs: 800 }
  ]
  const random = seeded(20261122)
  const plans = Array.from({ length: RUNS }, () => ({ fail: random() < 0.3, seed: Math.floor(random() * 2 ** 31) }))
  const figures = { runs: 0, faults: 0, duplicates: 0, lost: 0, mismatched: 0, hangs: 0, slowestMs: 0 }
  const problems: string[] = []
  for (let start = 0; start < RUNS; start += AT_ONCE) {
    await Promise.all(
      plans.slice(start, start + AT_ONCE).map(async (plan, offset) => {
        const next = seeded(plan.seed)
        let previousFaulted = false
        const via = await proxy(target, () => {
          const fault = !previousFaulted && next() < 0.17 ? FAULTS[Math.floor(next() * FAULTS.length)] : { kind: 'pass' as const }
          previousFaulted = fault.kind !== 'pass'
          return fault
        })
        const { result, runs } = await runOne(via, plan.fail)
        figures.runs++
        figures.faults += via.requests.filter((r) => r.fault.kind !== 'pass').length
        figures.slowestMs = Math.max(figures.slowestMs, result.elapsedMs)
        const name = `run ${start + offset} (seed ${plan.seed})`
        const want = expected(plan.fail)
        if (runs.length > 1) {
          figures.duplicates++
          problems.push(`${name}: ${runs.length} runs on the server`)
        }
        if (runs.length === 0 || result.outputs['run-id'] !== runs[0].id) {
          figures.lost++
          problems.push(`${name}: the action's run ${result.outputs['run-id']} is not the one on the server\n${explain(result)}`)
        } else if (runs[0].state !== want.state || result.outputs.outcome !== want.outcome || result.code !== want.code) {
          figures.mismatched++
          problems.push(`${name}: server ${runs[0].state}, action ${result.outputs.outcome} (exit ${result.code})\n${explain(result)}`)
        }
        if (result.elapsedMs > 60_000) {
          figures.hangs++
          problems.push(`${name}: took ${result.elapsedMs} ms`)
        }
      })
    )
  }
  console.log(`Seeded fault series against ${target}: ${JSON.stringify(figures)}`)
  expect(problems).toEqual([])
  expect(figures.runs).toBe(RUNS)
  expect(figures.faults).toBeGreaterThan(RUNS / 2)
}

describe('a seeded random series of faults', () => {
  it('against a real Prefect server: 50 runs, each one flow run, its real end reported', { timeout: 600_000 }, async () => {
    await seededSeries(
      prefect.apiUrl,
      (fail) => (fail ? { state: 'FAILED', outcome: 'failed', code: 1 } : { state: 'COMPLETED', outcome: 'success', code: 0 }),
      async (via, fail) => {
        const runTag = tag()
        const result = await runPrefect(via, runTag, { parameters: fail ? 'outcome: fail' : 'outcome: succeed' })
        return { result, runs: (await prefectRuns(runTag)).map((run) => ({ id: run.id, state: run.state_type })) }
      }
    )
  })

  it('against a real Kestra server: 50 runs, each one execution, its real end reported', { timeout: 600_000 }, async () => {
    await seededSeries(
      kestra.url,
      (fail) => (fail ? { state: 'FAILED', outcome: 'failed', code: 1 } : { state: 'SUCCESS', outcome: 'success', code: 0 }),
      async (via, fail) => {
        const runTag = tag()
        const result = await runKestra(via, runTag, fail ? 'fails' : 'hello')
        return { result, runs: (await kestraExecutions(runTag)).map((execution) => ({ id: execution.id, state: execution.state.current })) }
      }
    )
  })
})

describe('a TLS mismatch between the url and a real Prefect server', () => {
  it('an https url to the plain-HTTP server fails at once, said once, with what to check', async () => {
    const url = prefect.apiUrl.replace(/^http:/, 'https:')
    const result = await runAction(
      { orchestrator: 'prefect', url, deployment: 'it-flow/it-deployment', timeout: '5m' },
      { GITHUB_RUN_ID: uniqueRunId() }
    )
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('error')
    const told = result.stdout.split('\n').filter((line) => line.includes('TLS'))
    expect(told, explain(result)).toEqual([
      expect.stringMatching(
        /^::error::GET https:\/\/127\.0\.0\.1:\d+\/api\/deployments\/name\/it-flow\/it-deployment: https:\/\/127\.0\.0\.1:\d+ does not speak TLS on that port \(wrong version number\).*Check the scheme and port of the URL/
      )
    ])
    expect(result.stdout).not.toMatch(/retrying|openssl/i)
    expect(result.elapsedMs).toBeLessThan(10_000)
  })
})
