import { describe, expect, it, vi } from 'vitest'
import { Inbox } from '../../src/inbox.js'
import { FlowDispatchError } from '../../src/errors.js'
import type { RunStatus } from '../../src/orchestrator.js'
import { prefectPhase } from '../../src/prefect/states.js'
import type { Clock } from '../../src/clock.js'
import { type WaitHooks, type WaitOptions, waitForRun } from '../../src/wait.js'
import { fakeClock } from '../support/clock.ts'

const status = (state: string, stateName = state[0] + state.slice(1).toLowerCase()): RunStatus => ({
  state,
  stateName,
  phase: prefectPhase(state)
})

/** Reads answered from a script (a status, or an error to throw), each read's time noted. */
function scripted(answers: Array<RunStatus | Error>, clock: Clock) {
  const reads: number[] = []
  const read = async (deadline: number): Promise<RunStatus> => {
    if (clock.now() >= deadline) throw new Error('read at or after the deadline')
    reads.push(clock.now())
    const answer = answers[Math.min(reads.length - 1, answers.length - 1)]
    if (answer instanceof Error) throw answer
    return answer
  }
  return { read, reads }
}

function setup(answers: Array<RunStatus | Error>, { timeoutMs = 30_000, pollIntervalMs = 1_000 } = {}) {
  const clock = fakeClock()
  const script = scripted(answers, clock)
  const options: WaitOptions = { deadline: clock.now() + timeoutMs, pollIntervalMs, clock }
  const hooks: WaitHooks = { read: script.read, onChange: () => undefined }
  return { clock, options, hooks, reads: script.reads, start: clock.now() }
}

describe.concurrent('waitForRun', () => {
  it('reports each change of state once, not each read, and stops at a terminal state', async () => {
    const { options, hooks, reads } = setup([
      status('SCHEDULED'),
      status('SCHEDULED', 'Late'),
      status('RUNNING'),
      status('RUNNING'),
      status('COMPLETED')
    ])
    const seen: string[] = []
    const result = await waitForRun(status('SCHEDULED'), options, { ...hooks, onChange: (s) => seen.push(`${s.state}/${s.stateName}`) })
    expect(result).toEqual({ kind: 'ended', status: status('COMPLETED') })
    expect(seen).toEqual(['SCHEDULED/Late', 'RUNNING/Running', 'COMPLETED/Completed'])
    expect(reads).toHaveLength(5)
  })

  it('backs off from 1s to the poll interval', async () => {
    const { clock, options, hooks } = setup(
      [status('RUNNING'), status('RUNNING'), status('RUNNING'), status('RUNNING'), status('COMPLETED')],
      {
        pollIntervalMs: 5_000
      }
    )
    await waitForRun(status('RUNNING'), options, hooks)
    expect(clock.pauses).toEqual([1_000, 2_000, 4_000, 5_000, 5_000])
  })

  it('says it is still waiting when nothing changes for a while, not on every read', async () => {
    const { options, hooks } = setup([status('RUNNING'), status('RUNNING'), status('RUNNING'), status('RUNNING'), status('COMPLETED')])
    const beats: Array<[string, number]> = []
    await waitForRun(status('RUNNING'), options, {
      ...hooks,
      onHeartbeat: (s, seconds) => beats.push([s.state, seconds]),
      heartbeatMs: 2_500
    })
    // Reads at 1, 2, 3, 4 and 5 s: nothing new until 5 s, so one heartbeat, at the read at 3 s.
    expect(beats).toEqual([['RUNNING', 3]])
  })

  it('does not read a run that is already over', async () => {
    const { options, hooks, reads } = setup([])
    expect(await waitForRun(status('FAILED'), options, hooks)).toEqual({ kind: 'ended', status: status('FAILED') })
    expect(reads).toHaveLength(0)
  })

  it('returns a state it does not know at once instead of waiting on it', async () => {
    const { options, hooks, reads } = setup([status('AWAITING_APPROVAL', 'Waiting'), status('COMPLETED')])
    expect(await waitForRun(status('PENDING'), options, hooks)).toEqual({
      kind: 'unknown-state',
      status: status('AWAITING_APPROVAL', 'Waiting')
    })
    expect(reads).toHaveLength(1)
  })

  it('goes on through transient read failures, telling each retry once', async () => {
    const { options, hooks, reads } = setup([
      new FlowDispatchError('transient', 'reset', { code: 'ECONNRESET' }),
      new FlowDispatchError('transient', 'busy', { status: 503 }),
      status('COMPLETED')
    ])
    const retries: string[] = []
    const result = await waitForRun(status('RUNNING'), options, { ...hooks, onRetry: (message) => retries.push(message) })
    expect(result).toEqual({ kind: 'ended', status: status('COMPLETED') })
    expect(reads).toHaveLength(3)
    expect(retries).toEqual([
      "Could not read the run's state, will try again: reset",
      "Could not read the run's state, will try again: busy"
    ])
  })

  it('stops on a failure that will not pass by itself, after one read', async () => {
    const { options, hooks, reads } = setup([
      new FlowDispatchError('auth', 'refused the credentials', { status: 401 }),
      status('COMPLETED')
    ])
    await expect(waitForRun(status('RUNNING'), options, hooks)).rejects.toThrow('refused the credentials')
    expect(reads).toHaveLength(1)
  })

  it('gives up at the deadline with the last state seen, reading at 1s and 2s only', async () => {
    const { clock, options, hooks, reads, start } = setup([status('RUNNING')], { timeoutMs: 2_500 })
    const result = await waitForRun(status('PENDING'), options, hooks)
    expect(result).toEqual({ kind: 'timed-out', status: status('RUNNING') })
    expect(clock.now() - start).toBe(2_500)
    expect(reads.map((time) => time - start)).toEqual([1_000, 2_000])
  })

  it('sends no read once the deadline has come, where it could only fail', async () => {
    // 2 s: the back-off pauses 1 s, then 2 s, and that second pause runs into the deadline.
    const { options, hooks, reads, start } = setup([status('RUNNING')], { timeoutMs: 2_000, pollIntervalMs: 5_000 })
    const result = await waitForRun(status('PENDING'), options, hooks)
    expect(result.kind).toBe('timed-out')
    // The scripted read throws for a read at or after the deadline: one read, at 1 s.
    expect(reads.map((time) => time - start)).toEqual([1_000])
  })

  it('returns at once when the job is cancelled, during a pause or a read', async () => {
    const paused = setup([status('RUNNING')])
    const controller = new AbortController()
    controller.abort('SIGINT')
    expect(await waitForRun(status('RUNNING'), { ...paused.options, signal: controller.signal }, paused.hooks)).toEqual({
      kind: 'job-cancelled',
      status: status('RUNNING')
    })
    expect(paused.reads).toHaveLength(0)

    const reading = setup([])
    const inFlight = new AbortController()
    const never = new Promise<RunStatus>(() => undefined)
    const result = waitForRun(
      status('RUNNING'),
      { ...reading.options, signal: inFlight.signal },
      {
        ...reading.hooks,
        read: () => {
          setTimeout(() => inFlight.abort('SIGTERM'), 10)
          return never
        }
      }
    )
    expect(await result).toEqual({ kind: 'job-cancelled', status: status('RUNNING') })
  })

  it('ends at the start deadline a run still waiting to be started, after one last read at it', async () => {
    const { options, hooks, reads, start } = setup([status('SCHEDULED', 'Late')], { pollIntervalMs: 10_000 })
    const result = await waitForRun(status('SCHEDULED'), { ...options, startDeadline: start + 2_500 }, hooks)
    expect(result).toEqual({ kind: 'not-started', status: status('SCHEDULED', 'Late') })
    // Reads at 1 s and, the pause cut short by the start deadline, at 2.5 s: nothing after it.
    expect(reads.map((time) => time - start)).toEqual([1_000, 2_500])
  })

  it('goes on with a run that started by the last read at the start deadline', async () => {
    const { options, hooks, start } = setup([status('PENDING'), status('RUNNING'), status('COMPLETED')], { pollIntervalMs: 10_000 })
    const result = await waitForRun(status('SCHEDULED'), { ...options, startDeadline: start + 2_500 }, hooks)
    expect(result).toEqual({ kind: 'ended', status: status('COMPLETED') })
  })

  it('never holds a run that has started to the start deadline, even back in SCHEDULED for a retry', async () => {
    const awaitingRetry = status('SCHEDULED', 'AwaitingRetry')
    const { options, hooks, start } = setup([status('RUNNING'), awaitingRetry, awaitingRetry, awaitingRetry, status('COMPLETED')])
    const result = await waitForRun(status('PENDING'), { ...options, startDeadline: start + 1_500 }, hooks)
    expect(result).toEqual({ kind: 'ended', status: status('COMPLETED') })
  })

  it('times out, not "not started", when the deadline comes first', async () => {
    const { options, hooks, start } = setup([status('SCHEDULED')], { timeoutMs: 2_000 })
    expect((await waitForRun(status('SCHEDULED'), { ...options, startDeadline: start + 5_000 }, hooks)).kind).toBe('timed-out')
  })
})

/**
 * A live stream on the fake clock: `at` pushes states into the inbox when the
 * clock reaches a time, as the stream would between two reads.
 */
function streamed(answers: Array<RunStatus | Error>, { pollIntervalMs = 10_000, timeoutMs = 600_000 } = {}) {
  const base = setup(answers, { pollIntervalMs, timeoutMs })
  const inbox = new Inbox()
  const stream = { live: true, changes: 0, reopened: [] as string[], reopen: (reason: string) => void stream.reopened.push(reason) }
  const timeline: Array<{ at: number; act: () => void }> = []
  const clock = {
    now: base.clock.now,
    pauses: base.clock.pauses,
    // A pause that a scheduled push falls in ends at it: the push rings the bell.
    sleep: async (ms: number) => {
      const due = timeline.filter((item) => item.at - base.clock.now() <= ms).sort((a, b) => a.at - b.at)[0]
      if (!due) return base.clock.sleep(ms)
      timeline.splice(timeline.indexOf(due), 1)
      await base.clock.sleep(Math.max(0, due.at - base.clock.now()))
      due.act()
    }
  }
  const at = (ms: number, act: () => void) => timeline.push({ at: base.start + ms, act })
  const push = (ms: number, ...statuses: RunStatus[]) => at(ms, () => inbox.push(statuses))
  const options: WaitOptions = { ...base.options, clock, inbox, stream }
  return { ...base, options, inbox, stream, at, push }
}

const since = (state: RunStatus, ms: number): RunStatus => ({
  ...state,
  since: new Date(Date.parse('2026-11-22T18:00:00Z') + ms).toISOString()
})

describe.concurrent('waitForRun with a live stream', () => {
  it('prints pushed states as they come and reads only to confirm the end', async () => {
    const { options, hooks, reads, push, start } = streamed([status('COMPLETED')])
    push(3_000, since(status('PENDING'), 3_000))
    push(4_000, since(status('RUNNING'), 4_000))
    push(20_000, since(status('COMPLETED'), 20_000))
    const seen: string[] = []
    const result = await waitForRun(status('SCHEDULED'), options, { ...hooks, onChange: (s) => seen.push(s.state) })
    expect(result.kind).toBe('ended')
    expect(seen).toEqual(['PENDING', 'RUNNING', 'COMPLETED'])
    // The end is never taken from the stream alone: one read, at the moment it was announced.
    expect(reads.map((time) => time - start)).toEqual([20_000])
  })

  it('reads once every 30 s while the stream is quiet, or every poll-interval when that is longer', async () => {
    const quiet = streamed([status('RUNNING'), status('RUNNING'), status('COMPLETED')])
    await waitForRun(status('RUNNING'), quiet.options, quiet.hooks)
    expect(quiet.reads.map((time) => time - quiet.start)).toEqual([30_000, 60_000, 90_000])
    const slow = streamed([status('RUNNING'), status('COMPLETED')], { pollIntervalMs: 45_000 })
    await waitForRun(status('RUNNING'), slow.options, slow.hooks)
    expect(slow.reads.map((time) => time - slow.start)).toEqual([45_000, 90_000])
  })

  it('takes no stale or repeated state from the stream', async () => {
    const { options, hooks, push } = streamed([status('COMPLETED')])
    push(1_000, since(status('RUNNING'), 5_000), since(status('RUNNING'), 5_000))
    // Came late: the run was running already.
    push(2_000, since(status('PENDING'), 4_000))
    push(3_000, since(status('COMPLETED'), 6_000))
    const seen: string[] = []
    await waitForRun(status('SCHEDULED'), options, { ...hooks, onChange: (s) => seen.push(s.state) })
    expect(seen).toEqual(['RUNNING', 'COMPLETED'])
  })

  it('reads again soon when a read does not bear out a pushed end yet', async () => {
    const { options, hooks, reads, push, start } = streamed([status('RUNNING'), status('COMPLETED')])
    push(5_000, since(status('COMPLETED'), 5_000))
    await waitForRun(status('RUNNING'), options, hooks)
    expect(reads.map((time) => time - start)).toEqual([5_000, 6_000])
  })

  it('reads when the stream opens or drops, for what it may have missed', async () => {
    const { options, hooks, reads, at, stream, inbox, start } = streamed([status('RUNNING'), status('COMPLETED')])
    at(2_000, () => {
      stream.changes++
      inbox.ring()
    })
    at(7_000, () => {
      stream.live = false
      stream.changes++
      inbox.ring()
    })
    await waitForRun(status('RUNNING'), options, hooks)
    // Dropped at 7 s: from then on it polls, from the poll pause it had reached (1 s, doubled once by the read at 2 s).
    expect(reads.map((time) => time - start)).toEqual([2_000, 7_000])
  })

  it('reopens a stream that kept from it a state a read found', async () => {
    const { options, hooks, stream } = streamed([since(status('RUNNING'), 1_000), since(status('COMPLETED'), 31_000)])
    const result = await waitForRun(status('PENDING'), options, hooks)
    expect(result.kind).toBe('ended')
    // RUNNING began at 1 s and the read at 30 s found it, 29 s late: the stream stalled; so again for COMPLETED at 60 s.
    expect(stream.reopened).toEqual([
      expect.stringContaining('found the run RUNNING (Running), which the stream had not sent'),
      expect.stringContaining('found the run COMPLETED (Completed)')
    ])
  })

  it('asks the log each poll while no stream brings its lines, and only flushes once one does', async () => {
    const { options, hooks, push, start } = streamed([status('COMPLETED')], { pollIntervalMs: 4_000 })
    push(20_000, since(status('COMPLETED'), 20_000))
    const asked: number[] = []
    let flushed = 0
    const logs = { polled: true, flush: () => void flushed++, next: async () => void asked.push(options.clock?.now() ?? 0) }
    await waitForRun(status('RUNNING'), options, { ...hooks, logs })
    // With the states pushed, every poll interval (4 s: at 4, 8, 12, 16 s), then after the read that confirms the end.
    expect(asked.map((time) => time - start)).toEqual([4_000, 8_000, 12_000, 16_000, 20_000])
    const pushedOnly = streamed([status('COMPLETED')], { pollIntervalMs: 4_000 })
    pushedOnly.push(20_000, since(status('COMPLETED'), 20_000))
    const quiet = { polled: false, flush: () => undefined, next: vi.fn(async () => undefined) }
    await waitForRun(status('RUNNING'), pushedOnly.options, { ...pushedOnly.hooks, logs: quiet })
    expect(quiet.next).toHaveBeenCalledTimes(1)
    expect(flushed).toBeGreaterThan(0)
  })
})
