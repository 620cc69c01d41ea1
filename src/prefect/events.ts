import type { Credentials } from '../common-inputs.js'
import { type Connection, NoStream, type StreamEnd } from '../feed.js'
import type { RunStatus } from '../orchestrator.js'
import { webSocketSession } from '../websocket.js'
import { prefectPhase } from './states.js'

/** Policy violation: Prefect's answer to a missing or wrong token, and to a socket without its subprotocol. */
const POLICY_VIOLATION = 1008
/** An open socket that has not answered the auth message by then never will. */
const AUTH_LIMIT_MS = 10_000
/** Ids kept to drop an event the server sends twice (a reopened stream replays from the last one seen). */
const REMEMBERED = 1_000

export interface SocketTarget {
  /** The API's base URL, e.g. `http://127.0.0.1:4200/api`. */
  apiUrl: string
  credentials: Credentials
  headers: Record<string, string>
}

interface PrefectEvent {
  id?: string
  event?: string
  occurred?: string
  resource?: Record<string, string | null | undefined>
}

/**
 * The first message on a Prefect socket: the API key on Cloud, the
 * `user:password` auth string on a self-hosted server, as Prefect's own clients send.
 */
function authMessage(credentials: Credentials): string {
  switch (credentials.kind) {
    case 'none':
      return JSON.stringify({ type: 'auth', token: null })
    case 'bearer':
      return JSON.stringify({ type: 'auth', token: credentials.token })
    case 'basic':
      return JSON.stringify({ type: 'auth', token: `${credentials.username}:${credentials.password}` })
  }
}

/**
 * One Prefect socket: `prefect` subprotocol, the auth message, `auth_success`,
 * then the filter; after that each message goes to `message`.
 */
export async function prefectSocket(
  target: SocketTarget,
  path: string,
  filter: () => unknown,
  message: (data: { type?: string } & Record<string, unknown>) => void,
  opened: () => void,
  signal: AbortSignal
): Promise<StreamEnd> {
  let authorized = false
  // A socket that opens and then says nothing (a proxy that stalls it) is no stream: its own signal ends it.
  const session = new AbortController()
  const onAbort = () => session.abort()
  signal.addEventListener('abort', onAbort, { once: true })
  let unanswered = false
  const authLimit = setTimeout(() => {
    unanswered = !authorized
    if (unanswered) session.abort()
  }, AUTH_LIMIT_MS)
  const close = await webSocketSession(
    `${target.apiUrl}${path}`,
    { protocols: ['prefect'], headers: target.headers },
    {
      open: (send) => send(authMessage(target.credentials)),
      message: (text, send) => {
        const data = JSON.parse(text) as { type?: string } & Record<string, unknown>
        if (authorized) return message(data)
        if (data.type !== 'auth_success') throw new NoStream(`the server answered '${String(data.type)}' to the auth message`)
        authorized = true
        send(JSON.stringify({ type: 'filter', filter: filter() }))
        opened()
      }
    },
    session.signal
  ).finally(() => {
    clearTimeout(authLimit)
    signal.removeEventListener('abort', onAbort)
  })
  if (unanswered) throw new Error(`no answer to the auth message within ${AUTH_LIMIT_MS / 1000}s`)
  if (signal.aborted) return 'closed'
  // The same credentials work for its API: a socket refused them because the server wants what this client does not send.
  if (close.code === POLICY_VIOLATION) throw new NoStream(`the server refused it (${close.reason || 'policy violation'})`)
  if (!close.opened) throw new Error(`${close.reason} (no server there, no such path, or a proxy that refuses upgrades)`)
  throw new Error(`the server closed it (code ${close.code}${close.reason ? `: ${close.reason}` : ''})`)
}

/**
 * A flow run's state changes from Prefect's event stream (`/events/out`).
 * The filter needs an `until` in the future or the server sends only what is
 * stored; it backfills from `since`, so a reopened stream starts at the last
 * event seen and loses nothing, and repeats are dropped by id.
 */
export function prefectStateEvents(target: SocketTarget, runId: string, createdAt: string | undefined): Connection<RunStatus> {
  const seen = new Set<string>()
  let since = createdAt ?? new Date().toISOString()
  return {
    name: `the event stream of flow run ${runId}`,
    open: (deliver, opened, signal) =>
      prefectSocket(
        target,
        '/events/out',
        () => ({
          occurred: { since, until: new Date(Date.now() + 365 * 86_400_000).toISOString() },
          event: { prefix: ['prefect.flow-run.'], exclude_name: ['prefect.flow-run.heartbeat'] },
          resource: { id: [`prefect.flow-run.${runId}`] }
        }),
        (data) => {
          if (data.type !== 'event') return
          const event = data.event as PrefectEvent
          if (!event?.id || seen.has(event.id)) return
          seen.add(event.id)
          if (seen.size > REMEMBERED) seen.delete(seen.values().next().value as string)
          if (event.occurred && Date.parse(event.occurred) > Date.parse(since)) since = event.occurred
          const status = eventStatus(event)
          if (status) deliver([status])
        },
        opened,
        signal
      )
  }
}

/** The state an event announces, from the resource labels Prefect puts on every flow-run state event. */
function eventStatus(event: PrefectEvent): RunStatus | undefined {
  const resource = event.resource ?? {}
  const state = resource['prefect.state-type']
  if (!state) return undefined
  return {
    state,
    stateName: resource['prefect.state-name'] || state,
    phase: prefectPhase(state),
    since: resource['prefect.state-timestamp'] ?? event.occurred,
    message: resource['prefect.state-message'] || undefined
  }
}
