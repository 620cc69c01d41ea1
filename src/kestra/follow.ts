import type { Api } from '../api.js'
import { type Clock, realClock } from '../clock.js'
import { FlowDispatchError } from '../errors.js'
import { type Connection, NoStream, type StreamEnd } from '../feed.js'
import type { RunStatus } from '../orchestrator.js'
import { EVENT_STREAM_OPEN_LIMIT_MS, notAnEventStream, serverEvents } from '../sse.js'
import { kestraPhase } from './states.js'

interface FollowedExecution {
  state?: { current?: string; histories?: Array<{ state: string; date: string }> }
}

/**
 * An execution's states from `GET /executions/{id}/follow`: server-sent
 * events, `start`, then a whole execution at each change (`progress`), then
 * `end`, after which the server closes. A snapshot can pass over a state, so
 * each is read for the history entries after the last one handed on.
 */
export function kestraStateEvents(api: Api, url: string, executionId: string, clock: Clock = realClock): Connection<RunStatus> {
  const name = `the state stream of execution ${executionId}`
  let lastDate = Number.NEGATIVE_INFINITY
  return {
    name,
    async open(deliver, opened, signal): Promise<StreamEnd> {
      const stream = await api.open(`follow execution ${executionId}`, url, 'text/event-stream', clock.now() + EVENT_STREAM_OPEN_LIMIT_MS)
      const onAbort = () => stream.close()
      signal.addEventListener('abort', onAbort, { once: true })
      try {
        const refusal = notAnEventStream(stream)
        if (refusal) throw new NoStream(`the server answered ${refusal}`)
        opened()
        for await (const event of serverEvents(stream.body)) {
          // `end` carries the execution too, and may be the only event with its last states (a kill's KILLING).
          if ((event.id === 'progress' || event.id === 'end') && event.data !== '') {
            const fresh = newStates(JSON.parse(event.data) as FollowedExecution, lastDate)
            lastDate = Date.parse(fresh.at(-1)?.since ?? '') || lastDate
            if (fresh.length > 0) deliver(fresh)
          }
          if (event.id === 'end') return 'complete'
        }
        return 'closed'
      } catch (error) {
        if (signal.aborted && !(error instanceof NoStream)) return 'closed'
        if (error instanceof SyntaxError) throw new FlowDispatchError('server', `${name} sent an event that is not JSON: ${error.message}`)
        throw error
      } finally {
        signal.removeEventListener('abort', onAbort)
        stream.close()
      }
    }
  }
}

/** The states an execution went through after `after` (epoch ms), oldest first; the current one when it has no history. */
function newStates(execution: FollowedExecution, after: number): RunStatus[] {
  const histories = execution.state?.histories ?? []
  const entries = histories.length > 0 ? histories : execution.state?.current ? [{ state: execution.state.current, date: '' }] : []
  return entries
    .filter((entry) => entry.date === '' || Date.parse(entry.date) > after)
    .map((entry) => ({ state: entry.state, stateName: entry.state, phase: kestraPhase(entry.state), since: entry.date || undefined }))
}
