import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { Api } from '../../src/api.js'
import { byTime, KestraLogFollower } from '../../src/kestra/logs.js'
import { ActionsHost } from '../../src/host.js'
import type { LogLine } from '../../src/orchestrator.js'
import { type FakeClock, fakeClock } from '../support/clock.ts'
import { printed } from '../support/stdout.ts'

const host = new ActionsHost()

const RUN = '4Zx9kqLmN2pQrStUvWxYz1'
const entry = (n: number) => ({
  namespace: 'dev',
  flowId: 'f',
  executionId: RUN,
  timestamp: new Date(Date.UTC(2026, 10, 22, 0, 0, 0, n)).toISOString(),
  level: 'INFO',
  thread: 'w',
  message: `line ${n}`
})
const event = (id: string, data: object): string => `data: ${JSON.stringify(data)}\nid: ${id}\n\n`
/** `GET /logs/{id}`: the stored log, whole. */
const stored = (res: ServerResponse, entries: object[]) =>
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(entries))

let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

/**
 * A server for one execution's log; `handle` answers the follow and read requests. The follower is on a
 * clock that moves only by its pauses (and the test's), each of which lets the socket deliver what it has.
 */
async function serve(
  handle: (req: IncomingMessage, res: ServerResponse, index: number) => void
): Promise<{ follower: KestraLogFollower; paths: string[]; open: () => number; clock: FakeClock }> {
  const paths: string[] = []
  const streams = new Set<ServerResponse>()
  const server = createServer((req, res) => {
    paths.push(req.url ?? '')
    if (req.url?.endsWith('/follow')) {
      streams.add(res)
      req.on('close', () => streams.delete(res))
    }
    handle(req, res, paths.length - 1)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  close = async () => {
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  }
  const clock = fakeClock()
  const api = new Api({
    product: 'Kestra',
    server: url,
    credentials: { kind: 'none' },
    userAgent: 'test',
    host,
    credentialHint: () => '',
    clock
  })
  return {
    follower: new KestraLogFollower(api, (suffix) => `${url}/api/v1/main${suffix}`, RUN, host, clock),
    paths,
    open: () => streams.size,
    clock
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Waits for what the sockets do, however long the machine takes: the test's own timeout is the only limit. */
async function until(done: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await done())) await pause(5)
}

function collector(): { print: (lines: LogLine[]) => void; messages: string[]; batches: number[] } {
  const messages: string[] = []
  const batches: number[] = []
  return {
    messages,
    batches,
    print: (lines) => {
      batches.push(lines.length)
      messages.push(...lines.map((line) => line.message))
    }
  }
}

describe('Kestra log follower', () => {
  it('follows the server-sent events, and after a drop skips the lines the new stream replays', async () => {
    const sent = [0, 1, 2]
    let drop = () => {}
    const { follower, paths, open } = await serve((req, res, index) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, sent.map(entry))
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(event('start', {}))
      for (const n of sent) res.write(event('progress', entry(n)))
      if (index === 0) {
        // Two more lines live, then the connection drops once they are sent.
        drop = () => {
          sent.push(3, 4)
          res.write(event('progress', entry(3)) + event('progress', entry(4)), () => res.socket?.destroy())
        }
      } else {
        sent.push(5)
        res.write(event('progress', entry(5)))
      }
    })
    const out = collector()
    await follower.next(out.print)
    drop()
    // The action goes on polling; the poll after the drop opens the stream again.
    await until(async () => {
      await follower.next(out.print)
      return paths.length > 1
    })
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4', 'line 5'])
    // The last call reads the stored log too, for what a stream did not bring: here, nothing.
    expect(paths).toEqual([`/api/v1/main/logs/${RUN}/follow`, `/api/v1/main/logs/${RUN}/follow`, `/api/v1/main/logs/${RUN}`])
    // The last call closed the stream: the server sees it go.
    await until(() => open() === 0)
  })

  it.each([
    ['2.0', 'data: {}\nid: start\n\n'],
    ['1.3', 'data: {"attemptNumber":null}\nid: start\n\n'],
    ['an empty one', 'id: start\ndata: \n\n']
  ])("takes the stream's opening event (%s) for no line, and skips no line after it", async (_, start) => {
    const { follower } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, [0, 1].map(entry))
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(start + event('progress', { ...entry(0), tenantId: 'main' }) + event('progress', { ...entry(1), tenantId: 'main' }))
    })
    const out = collector()
    await follower.next(out.print)
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['line 0', 'line 1'])
  })

  it('reads the log whole each poll where the server has no stream, printing only what is new', async () => {
    let lines = 2
    const { follower, paths } = await serve((req, res) => {
      const follow = req.url?.endsWith('/follow')
      res.writeHead(follow ? 404 : 200, { 'content-type': 'application/json' })
      res.end(follow ? '{"message":"Not Found"}' : JSON.stringify(Array.from({ length: lines }, (_, n) => entry(n))))
    })
    const out = collector()
    await follower.next(out.print)
    lines = 5
    await follower.next(out.print)
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4'])
    expect(paths).toEqual([
      `/api/v1/main/logs/${RUN}/follow`,
      `/api/v1/main/logs/${RUN}`,
      `/api/v1/main/logs/${RUN}`,
      `/api/v1/main/logs/${RUN}`
    ])
  })

  it('reads the log whole when the stream never gets its headers through (a buffering proxy)', async () => {
    const { follower, paths } = await serve((req, res) => {
      // Held: a proxy that waits for the end of an answer that never ends.
      if (req.url?.endsWith('/follow')) return
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([entry(0), entry(1)]))
    })
    const out = collector()
    // The headers are given EVENT_STREAM_OPEN_LIMIT_MS (5 s), not a request's 30 s: a real timer, for the socket really stalls.
    const log = await printed(() => follower.next(out.print))
    expect(log).toContain('/follow: no answer within 5.0s)); reading the log whole each poll instead')
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['line 0', 'line 1'])
    expect(paths.filter((path) => path.endsWith('/follow'))).toHaveLength(1)
  })

  it('prints a line the server sends twice once (the same instant, task run and text)', async () => {
    const { follower } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, [0, 1, 2].map(entry))
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(event('start', {}) + [0, 0, 1, 2, 1].map((n) => event('progress', entry(n))).join(''))
    })
    const out = collector()
    await follower.next(out.print)
    await pause(100)
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['line 0', 'line 1', 'line 2'])
  })

  it('takes from the stored log at the end a line the stream missed as it opened', async () => {
    // Seen on Kestra 2.0: the flow's first line, logged while the stream subscribed, came in neither its replay nor live.
    const { follower } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, [0, 1, 2].map(entry))
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(event('start', {}) + [1, 2].map((n) => event('progress', entry(n))).join(''))
    })
    const out = collector()
    await follower.next(out.print)
    await pause(100)
    await follower.next(out.print, undefined, true)
    expect(out.messages.toSorted()).toEqual(['line 0', 'line 1', 'line 2'])
    expect(out.messages).toHaveLength(3)
  })

  it('takes at the end lines the stream missed as it opened, however long the execution went on after them', async () => {
    // Seen on Kestra 1.3: lines 2 and 3, logged with line 1 as the stream subscribed, never came; 40 s later, 4 and 5 did.
    const at = (n: number, ms: number) => ({ ...entry(n), timestamp: new Date(Date.UTC(2026, 10, 22, 0, 0, 0, ms)).toISOString() })
    const log = [at(1, 0), at(2, 1), at(3, 2), at(4, 40_000), at(5, 40_001)]
    const { follower } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, log)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(event('start', {}) + [log[0], log[3], log[4]].map((line) => event('progress', line)).join(''))
    })
    const out = collector()
    await follower.next(out.print)
    await pause(100)
    await follower.next(out.print, undefined, true)
    expect(out.messages.toSorted()).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5'])
    expect(out.messages).toHaveLength(5)
  })

  it('takes from the stored log at the end what a stalled stream never brought, once each', async () => {
    const { follower, paths } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, [0, 1, 2, 3, 4].map(entry))
      // A proxy that passes two lines on, then nothing, and keeps the connection open.
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(event('start', {}) + event('progress', entry(0)) + event('progress', entry(1)))
    })
    const out = collector()
    await follower.next(out.print)
    await pause(100)
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['line 0', 'line 1', 'line 2', 'line 3', 'line 4'])
    expect(paths).toEqual([`/api/v1/main/logs/${RUN}/follow`, `/api/v1/main/logs/${RUN}`])
  })

  it('leaves a fast stream unread while 2,000 lines wait to be printed, and loses none', async () => {
    const total = 20_000
    const { follower, clock } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow'))
        return void stored(
          res,
          Array.from({ length: total }, (_, n) => entry(n))
        )
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let text = event('start', {})
      for (let n = 0; n < total; n++) text += event('progress', entry(n))
      res.write(text)
    })
    const out = collector()
    // Polls until one finds 2,000 lines waiting. The pauses double, as the action's do: however slowly the lines come,
    // the polls before that one took fewer than twice 2,000, so it comes long before the stream ends.
    let ms = 5
    for (; !(await follower.next(out.print)); ms *= 2) await pause(ms)
    // Left alone longer than it took to fill up, the follower takes no more than those 2,000 (the last call's first batch).
    await pause(2 * ms)
    // The action pauses before its last call; a stream we stopped reading meanwhile is not a quiet one.
    await clock.sleep(1_200)
    // The last call takes the rest, however much, until the stream goes quiet.
    await follower.next(out.print, undefined, true)
    expect(Math.max(...out.batches)).toBeLessThanOrEqual(2_000 + 500)
    expect(out.messages).toHaveLength(total)
    expect(out.messages.every((message, n) => message === `line ${n}`)).toBe(true)
  })
})

describe('Kestra log lines by time', () => {
  const line = (time: string, message: string): LogLine => ({ time, level: 'INFO', message })
  it('orders what arrived together by the time it was logged, to the nanosecond, whatever the fraction digits', async () => {
    // As a real Kestra 1.3 replayed one Log task's three lines.
    const replayed = [
      ['2026-11-25T21:37:21.930651Z', 'second'],
      ['2026-11-25T21:37:21.930792Z', 'third'],
      ['2026-11-25T21:37:21.930155Z', 'first']
    ].map(([time, message]) => ({ ...entry(0), timestamp: time, message }))
    const { follower } = await serve((req, res) => {
      if (!req.url?.endsWith('/follow')) return void stored(res, replayed)
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(event('start', {}))
      for (const line of replayed) res.write(event('progress', line))
    })
    const out = collector()
    await follower.next(out.print)
    await pause(200)
    await follower.next(out.print, undefined, true)
    expect(out.messages).toEqual(['first', 'second', 'third'])
    follower.close()
  })

  it('compares instants with three, six or nine fraction digits, or none', () => {
    const times = [
      '2026-11-25T21:37:22Z',
      '2026-11-25T21:37:21.9301Z',
      '2026-11-25T21:37:21.930Z',
      '2026-11-25T21:37:21.930000001Z',
      '2026-11-25T21:37:21Z'
    ]
    expect(
      times
        .map((time) => line(time, time))
        .sort(byTime)
        .map((l) => l.time)
    ).toEqual([
      '2026-11-25T21:37:21Z',
      '2026-11-25T21:37:21.930Z',
      '2026-11-25T21:37:21.930000001Z',
      '2026-11-25T21:37:21.9301Z',
      '2026-11-25T21:37:22Z'
    ])
  })
})
