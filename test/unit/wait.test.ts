import { describe, expect, it } from 'vitest'
import { RemoteError } from '../../src/errors.js'
import { NetworkError } from '../../src/http.js'
import type { Orchestrator, Run, RunStatus } from '../../src/orchestrator.js'
import { prefectPhase } from '../../src/prefect/states.js'
import { waitForRun } from '../../src/wait.js'

const status = (state: string, stateName = state[0] + state.slice(1).toLowerCase()): RunStatus => ({
  state,
  stateName,
  phase: prefectPhase(state)
})

/** An orchestrator whose reads answer from a script: a status, or an error to throw. */
function scripted(answers: Array<RunStatus | Error>): Orchestrator & { reads: number } {
  const fake = {
    product: 'Prefect',
    target: 'deployment x',
    terminalStates: [],
    reads: 0,
    prepare: async () => undefined,
    trigger: async (): Promise<Run> => {
      throw new Error('not used')
    },
    runUrl: (id: string) => `http://ui/${id}`,
    logs: () => ({ next: async () => false, close: () => undefined }),
    dryRun: async () => [],
    cancel: async (): Promise<RunStatus> => {
      throw new Error('not used')
    },
    read: async (): Promise<RunStatus> => {
      const answer = answers[Math.min(fake.reads++, answers.length - 1)]
      if (answer instanceof Error) throw answer
      return answer
    }
  }
  return fake
}

const run = (first: RunStatus): Run => ({ id: 'r1', name: 'n', url: 'http://ui/r1', created: true, status: first })
const fast = { timeoutSeconds: 30, pollIntervalSeconds: 1 }

describe.concurrent('waitForRun', () => {
  it('reports each change of state once, not each read, and stops at a terminal state', async () => {
    const orchestrator = scripted([
      status('SCHEDULED'),
      status('SCHEDULED', 'Late'),
      status('RUNNING'),
      status('RUNNING'),
      status('COMPLETED')
    ])
    const seen: string[] = []
    const result = await waitForRun(orchestrator, run(status('SCHEDULED')), fast, {
      onChange: (s) => seen.push(`${s.state}/${s.stateName}`)
    })
    expect(result).toEqual({ status: status('COMPLETED'), timedOut: false })
    expect(seen).toEqual(['SCHEDULED/Late', 'RUNNING/Running', 'COMPLETED/Completed'])
    expect(orchestrator.reads).toBe(5)
  })

  it('says it is still waiting when nothing changes for a while, not on every read', async () => {
    const orchestrator = scripted([status('RUNNING'), status('RUNNING'), status('RUNNING'), status('RUNNING'), status('COMPLETED')])
    const beats: string[] = []
    await waitForRun(orchestrator, run(status('RUNNING')), fast, {
      onChange: () => undefined,
      onHeartbeat: (s, seconds) => beats.push(`${s.state} ${seconds >= 2.5 && seconds < 4.5 ? 'after 2.5-4.5s' : seconds}`),
      heartbeatMs: 2_500
    })
    // Reads at about 1, 2, 3, 4 and 5 s: nothing new until 5 s, so one heartbeat, at the read near 3 s.
    expect(beats).toEqual(['RUNNING after 2.5-4.5s'])
  })

  it('does not read a run that is already over', async () => {
    const orchestrator = scripted([])
    expect(await waitForRun(orchestrator, run(status('FAILED')), fast, { onChange: () => undefined })).toMatchObject({ timedOut: false })
    expect(orchestrator.reads).toBe(0)
  })

  it('reports a state it does not know at once instead of waiting on it', async () => {
    const orchestrator = scripted([status('AWAITING_APPROVAL', 'Waiting'), status('COMPLETED')])
    await expect(waitForRun(orchestrator, run(status('PENDING')), fast, { onChange: () => undefined })).rejects.toThrow(
      "Prefect reported state 'AWAITING_APPROVAL' (Waiting) for run r1, which this version of flow-dispatch does not know; not waiting on it. See http://ui/r1"
    )
    expect(orchestrator.reads).toBe(1)
  })

  it('goes on through transient read failures', async () => {
    const orchestrator = scripted([new NetworkError('reset', 'ECONNRESET'), new RemoteError('busy', 503), status('COMPLETED')])
    expect((await waitForRun(orchestrator, run(status('RUNNING')), fast, { onChange: () => undefined })).status.state).toBe('COMPLETED')
  })

  it('stops on a failure that will not pass by itself', async () => {
    const orchestrator = scripted([new RemoteError('refused the credentials', 401), status('COMPLETED')])
    await expect(waitForRun(orchestrator, run(status('RUNNING')), fast, { onChange: () => undefined })).rejects.toThrow(
      'refused the credentials'
    )
  })

  it('gives up at the timeout with the last state seen', async () => {
    const orchestrator = scripted([status('RUNNING')])
    const started = Date.now()
    const result = await waitForRun(
      orchestrator,
      run(status('PENDING')),
      { timeoutSeconds: 2.5, pollIntervalSeconds: 1 },
      { onChange: () => undefined }
    )
    expect(result).toEqual({ status: status('RUNNING'), timedOut: true })
    expect(Date.now() - started).toBeGreaterThanOrEqual(2400)
    // Reads at about 1s, 2s and the deadline: the interval caps the back-off, and nothing reads past the deadline.
    expect(orchestrator.reads).toBeGreaterThanOrEqual(2)
    expect(orchestrator.reads).toBeLessThanOrEqual(3)
  })

  it('sends no read once the deadline has come, where it could only fail', async () => {
    const orchestrator = scripted([status('RUNNING')])
    const late: number[] = []
    const read = orchestrator.read
    orchestrator.read = async (id: string, deadline?: number) => {
      if (deadline !== undefined && Date.now() >= deadline) late.push(Date.now() - deadline)
      return read(id, deadline)
    }
    // 2 s: the back-off pauses 1 s, then 2 s, and that second pause runs into the deadline.
    const result = await waitForRun(
      orchestrator,
      run(status('PENDING')),
      { timeoutSeconds: 2, pollIntervalSeconds: 5 },
      { onChange: () => undefined }
    )
    expect(result.timedOut).toBe(true)
    expect(late).toEqual([])
  })
})
