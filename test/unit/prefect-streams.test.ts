import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { NoStream } from '../../src/feed.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import type { LogLine, Run, RunStatus } from '../../src/orchestrator.js'
import { PrefectClient } from '../../src/prefect/client.js'
import type { PrefectInputs } from '../../src/prefect/inputs.js'
import type { PrefectLogFollower } from '../../src/prefect/logs.js'
import { useActionEnvironment } from '../support/env.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { flowRun, RUN_ID } from '../support/prefect-answers.ts'
import { startWsStub, type WsConnection, type WsStub } from '../support/ws-stub.ts'

const env = useActionEnvironment()
const host = new ActionsHost()
const serve = closedAfterEach(startWsStub)

/** When the run entered its first state: the `since` of its first event filter. */
const CREATED = '2026-11-22T18:00:00Z'

/** Followers still listening when a test ends, closed then: a feed left open would reopen its stream for ever. */
const followers: PrefectLogFollower[] = []
afterEach(() => {
  for (const follower of followers.splice(0)) follower.close()
})

interface Filtered {
  body: Record<string, unknown>
}

/**
 * A Prefect client on a stub that streams at `/api/events/out` and `/api/logs/out`,
 * answers `GET /flow_runs/{id}`, and `POST /logs/filter` with `stored()`.
 */
async function prefect(inputs: Record<string, string> = {}, stored: () => object[] = () => []) {
  const reads: Filtered[] = []
  const stub = await serve({
    accepts: (path) => path === '/api/events/out' || path === '/api/logs/out',
    http: (request, res: ServerResponse) => {
      const json = (body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      if (request.method === 'GET' && request.path === `/api/flow_runs/${RUN_ID}`) json(flowRun('SCHEDULED', 'Scheduled'))
      else if (request.method === 'POST' && request.path === '/api/logs/filter') {
        reads.push({ body: JSON.parse(request.body) })
        json(stored())
      } else res.writeHead(404).end()
    }
  })
  env.setInputs({ orchestrator: 'prefect', url: `${stub.url}/api`, deployment: 'etl/nightly', ...inputs })
  const client = new PrefectClient(getInputs(host) as PrefectInputs, { host, origin: {}, userAgent: 'flow-dispatch-test' })
  return { client, stub, reads }
}

/** The stub's `index`th WebSocket, once the client has opened it. */
async function connection(stub: WsStub, index = 0): Promise<WsConnection> {
  await expect.poll(() => stub.connections.length, { timeout: 5_000 }).toBeGreaterThan(index)
  return stub.connections[index]
}

/** The server's side of the opening: the auth message taken and accepted, then the filter taken. */
async function authorize(conn: WsConnection): Promise<{ auth: unknown; filter: Record<string, unknown> }> {
  const auth = JSON.parse(await conn.next())
  conn.send(JSON.stringify({ type: 'auth_success' }))
  const message = JSON.parse(await conn.next())
  expect(message.type).toBe('filter')
  return { auth, filter: message.filter }
}

/** A flow-run state event as Prefect's event stream sends it. */
function stateEvent(id: string, occurred: string, type: string, name: string, message = '') {
  return JSON.stringify({
    type: 'event',
    event: {
      id,
      event: `prefect.flow-run.${name}`,
      occurred,
      resource: {
        'prefect.resource.id': `prefect.flow-run.${RUN_ID}`,
        'prefect.state-type': type,
        'prefect.state-name': name,
        'prefect.state-timestamp': occurred,
        'prefect.state-message': message
      }
    }
  })
}

/** The run as the wait knows it, read from the stub. */
async function theRun(client: PrefectClient): Promise<Run> {
  return { id: RUN_ID, name: 'brave-otter', url: '', made: 'created', status: await client.read(RUN_ID) }
}

/** Opens the state stream as the feed does; `statuses` fills as it delivers. */
function follow(client: PrefectClient, run: Run) {
  const connection = client.stateStream(run)
  const statuses: RunStatus[] = []
  let opened = 0
  const open = () => {
    const stop = new AbortController()
    const end = connection.open(
      (items) => statuses.push(...items),
      () => opened++,
      stop.signal
    )
    // Settled by the test; a rejection not awaited yet is not unhandled meanwhile.
    end.catch(() => undefined)
    return { end, stop }
  }
  return { open, statuses, opened: () => opened }
}

describe('Prefect state events over a WebSocket', () => {
  it.each([
    ['an API key', { 'api-key': 'pnu_key' }, 'pnu_key', 'Bearer pnu_key'],
    ['basic auth', { username: 'admin', password: 'pass' }, 'admin:pass', `Basic ${Buffer.from('admin:pass').toString('base64')}`],
    ['no credentials', {}, null, undefined]
  ])('with %s: the auth message, the subprotocol and the headers', async (_, inputs, token, authorization) => {
    const { client, stub } = await prefect(inputs)
    const stream = follow(client, await theRun(client))
    const attempt = stream.open()
    const conn = await connection(stub)
    expect(JSON.parse(await conn.next())).toEqual({ type: 'auth', token })
    expect(conn.path).toBe('/api/events/out')
    expect(conn.protocol).toBe('prefect')
    expect(conn.headers['sec-websocket-protocol']).toBe('prefect')
    expect(conn.headers.authorization).toBe(authorization)
    expect(conn.headers['user-agent']).toBe('flow-dispatch-test')
    expect(conn.headers['x-prefect-api-version']).toBe('0.8.4')
    // Nothing but the auth message until the server accepts it.
    expect(stream.opened()).toBe(0)
    attempt.stop.abort()
    expect(await attempt.end).toBe('closed')
    await conn.ended
  })

  it('sends the filter after auth_success, then delivers the states in order, each event once', async () => {
    const { client, stub } = await prefect({ 'api-key': 'pnu_key' })
    const stream = follow(client, await theRun(client))
    const attempt = stream.open()
    const conn = await connection(stub)
    const before = Date.now()
    const { filter } = await authorize(conn)
    expect(filter).toMatchObject({
      occurred: { since: CREATED },
      event: { prefix: ['prefect.flow-run.'], exclude_name: ['prefect.flow-run.heartbeat'] },
      resource: { id: [`prefect.flow-run.${RUN_ID}`] }
    })
    // An `until` in the past would get only what is stored: the stream would never push.
    expect(Date.parse((filter.occurred as { until: string }).until)).toBeGreaterThan(before + 86_400_000)
    await expect.poll(stream.opened).toBe(1)
    conn.send(stateEvent('e1', '2026-11-22T18:00:05Z', 'PENDING', 'Pending'))
    conn.send(stateEvent('e2', '2026-11-22T18:00:06Z', 'RUNNING', 'Running'))
    conn.send(stateEvent('e2', '2026-11-22T18:00:06Z', 'RUNNING', 'Running'))
    conn.send(JSON.stringify({ type: 'event', event: { id: 'e-other', occurred: '2026-11-22T18:00:07Z', resource: {} } }))
    conn.send(stateEvent('e3', '2026-11-22T18:00:09Z', 'FAILED', 'Crashed', 'the process died'))
    await expect.poll(() => stream.statuses.length).toBe(3)
    expect(stream.statuses).toEqual([
      { state: 'PENDING', stateName: 'Pending', phase: 'pending', since: '2026-11-22T18:00:05Z', message: undefined },
      { state: 'RUNNING', stateName: 'Running', phase: 'running', since: '2026-11-22T18:00:06Z', message: undefined },
      { state: 'FAILED', stateName: 'Crashed', phase: 'failed', since: '2026-11-22T18:00:09Z', message: 'the process died' }
    ])
    attempt.stop.abort()
    expect(await attempt.end).toBe('closed')
  })

  it('a close with 1008 (a refused token) is NoStream, not to be reopened', async () => {
    const { client, stub } = await prefect({ 'api-key': 'pnu_wrong' })
    const attempt = follow(client, await theRun(client)).open()
    const conn = await connection(stub)
    await conn.next()
    conn.close(1008, 'Invalid token')
    const failure = await attempt.end.then(
      () => undefined,
      (error: unknown) => error
    )
    expect(failure).toBeInstanceOf(NoStream)
    expect((failure as Error).message).toBe('the server refused it (Invalid token)')
    await conn.ended
    expect(conn.clientClose).toBe(1008)
  })

  it('a normal close is an error the feed reopens on; the new filter starts at the last event seen, and its replay is dropped', async () => {
    const { client, stub } = await prefect()
    const stream = follow(client, await theRun(client))
    const first = stream.open()
    const conn = await connection(stub)
    await authorize(conn)
    conn.send(stateEvent('e1', '2026-11-22T18:00:05Z', 'PENDING', 'Pending'))
    conn.send(stateEvent('e2', '2026-11-22T18:00:06Z', 'RUNNING', 'Running'))
    await expect.poll(() => stream.statuses.length).toBe(2)
    conn.close(1000, 'bye')
    const failure = await first.end.then(
      () => undefined,
      (error: unknown) => error
    )
    expect(failure).toBeInstanceOf(Error)
    expect(failure).not.toBeInstanceOf(NoStream)
    expect((failure as Error).message).toBe('the server closed it (code 1000: bye)')

    const second = stream.open()
    const again = await connection(stub, 1)
    const { filter } = await authorize(again)
    expect(filter.occurred).toMatchObject({ since: '2026-11-22T18:00:06Z' })
    // The server backfills from `since`, inclusive: the last event comes again, and is not news.
    again.send(stateEvent('e2', '2026-11-22T18:00:06Z', 'RUNNING', 'Running'))
    again.send(stateEvent('e3', '2026-11-22T18:00:08Z', 'COMPLETED', 'Completed'))
    await expect.poll(() => stream.statuses.length).toBe(3)
    expect(stream.statuses.map((status) => status.stateName)).toEqual(['Pending', 'Running', 'Completed'])
    expect(stream.opened()).toBe(2)
    second.stop.abort()
    expect(await second.end).toBe('closed')
  })
})

/** A log line of the run, as `/logs/out` pushes it and `/logs/filter` returns it. */
const line = (n: number, message = `line ${n}`) => ({
  id: `log-${n}`,
  level: 20,
  message,
  timestamp: new Date(Date.UTC(2026, 10, 22, 18, 0, n)).toISOString(),
  flow_run_id: RUN_ID
})
const pushed = (log: object) => JSON.stringify({ type: 'log', log })
const CLOSING = 'Finished in state Completed()'

/** A follower listening on the stub's log stream, with the server's side of the socket once it is authorized. */
async function listening(stored: () => object[] = () => []) {
  const { client, stub, reads } = await prefect({ 'api-key': 'pnu_key' }, stored)
  const follower = client.logs(RUN_ID)
  followers.push(follower)
  let news = 0
  follower.listen(() => news++)
  const conn = await connection(stub)
  expect(conn.path).toBe('/api/logs/out')
  const { filter } = await authorize(conn)
  expect(filter).toEqual({ flow_run_id: { any_: [RUN_ID] } })
  // Opened: the feed tells it (news), yet a stream that has sent nothing is not trusted with the log.
  await expect.poll(() => news).toBe(1)
  const messages: string[] = []
  const print = (lines: LogLine[]) => messages.push(...lines.map((printed) => printed.message))
  return { follower, conn, reads, messages, print, news: () => news }
}

describe('Prefect log follower with a log stream', () => {
  it('prints what the stream pushes without reading the log, each line once whichever way it came', async () => {
    let stored = [line(1)]
    const { follower, conn, reads, messages, print, news } = await listening(() => stored)
    expect(follower.polled).toBe(true)
    // Not proven yet: the log is read as without a stream.
    expect(await follower.next(print)).toBe(false)
    expect(reads).toHaveLength(1)
    expect(messages).toEqual(['line 1'])

    // The stream pushes the line the read found, one of another run, and two new ones.
    conn.send(pushed(line(1)))
    conn.send(pushed({ ...line(9), flow_run_id: 'another-run' }))
    conn.send(pushed(line(3)))
    conn.send(pushed(line(2)))
    await expect.poll(() => news()).toBe(4)
    expect(follower.polled).toBe(false)
    follower.flush(print)
    expect(messages).toEqual(['line 1', 'line 2', 'line 3'])
    expect(await follower.next(print)).toBe(false)
    expect(reads).toHaveLength(1)

    // The end: the closing line is pushed; the final read returns lines already printed, none printed again.
    stored = [line(1), line(2), line(3), line(4, CLOSING)]
    conn.send(pushed(line(4, CLOSING)))
    await expect.poll(() => news()).toBe(5)
    const started = Date.now()
    expect(await follower.next(print, undefined, true)).toBe(false)
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(messages).toEqual(['line 1', 'line 2', 'line 3', CLOSING])
    expect(reads).toHaveLength(2)
    // The final read starts a little before the newest line, for lines shipped late.
    expect(reads[1].body).toMatchObject({ logs: { timestamp: { after_: '2026-11-22T17:59:54.000Z' } }, sort: 'TIMESTAMP_ASC' })
  })

  it('a stream that opens and sends nothing (the setting off) is not trusted: the log is read', async () => {
    const { follower, reads, messages, print } = await listening(() => [line(1), line(2)])
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(follower.polled).toBe(true)
    expect(await follower.next(print)).toBe(false)
    expect(reads).toHaveLength(1)
    expect(reads[0].body).toMatchObject({ logs: { flow_run_id: { any_: [RUN_ID] } }, offset: 0, limit: 200 })
    expect(messages).toEqual(['line 1', 'line 2'])
  })
})

describe('Prefect log follower at the end of the run', () => {
  it('returns as soon as the stream pushes the closing line', async () => {
    const { follower, conn, messages, print } = await listening()
    conn.send(pushed(line(1)))
    await expect.poll(() => follower.polled).toBe(false)
    const started = Date.now()
    setTimeout(() => conn.send(pushed(line(2, CLOSING))), 300)
    await follower.next(print, undefined, true)
    const took = Date.now() - started
    // Pushes are looked for every 50 ms: soon after it, far inside the 3 s bound.
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(800)
    expect(messages).toEqual(['line 1', CLOSING])
  })

  it('without a stream that carries the log, reads it until the closing line is there', async () => {
    let stored = [line(1)]
    const { follower, reads, messages, print } = await listening(() => stored)
    const started = Date.now()
    setTimeout(() => {
      stored = [line(1), line(2, CLOSING)]
    }, 300)
    await follower.next(print, undefined, true)
    const took = Date.now() - started
    // Read at once, then every quarter second: the first read after it was stored (at 300 ms) finds it.
    expect(took).toBeGreaterThanOrEqual(290)
    expect(took).toBeLessThan(1_200)
    expect(messages).toEqual(['line 1', CLOSING])
    // Two or three reads while waiting, one final.
    expect(reads.length).toBeGreaterThanOrEqual(3)
    expect(reads.length).toBeLessThanOrEqual(4)
  })

  it('without a closing line, gives up waiting after about 3 s and reads the log once more', async () => {
    const { follower, conn, reads, messages, print } = await listening(() => [line(1), line(2)])
    conn.send(pushed(line(1)))
    await expect.poll(() => follower.polled).toBe(false)
    const started = Date.now()
    await follower.next(print, undefined, true)
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(2_950)
    expect(took).toBeLessThan(4_000)
    expect(reads).toHaveLength(1)
    expect(messages).toEqual(['line 1', 'line 2'])
  })
})
