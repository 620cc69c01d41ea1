import { once } from 'node:events'
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { type Fault, startFaultProxy } from '../support/fault-proxy.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { startWsStub } from '../support/ws-stub.ts'

/**
 * A target with both kinds of stream: `/ws` accepts a WebSocket (subprotocol
 * `prefect`, as Prefect's) that sends `tick <n>` every 100 ms and answers
 * each message `m` with `echo m`; `/sse` sends an event every 100 ms. It
 * counts its open streams, to see the proxy end its side too.
 */
async function startTarget() {
  const events = new Set<ServerResponse>()
  const stub = await startWsStub({
    accepts: (path) => path === '/ws',
    onConnection: async (conn) => {
      let n = 0
      const ticks = setInterval(() => conn.send(`tick ${n++}`), 100)
      void conn.ended.then(() => clearInterval(ticks))
      for (;;) {
        const message = await conn.next().catch(() => undefined)
        if (message === undefined) return
        conn.send(`echo ${message}`)
      }
    },
    http: (request, res) => {
      if (request.path !== '/sse') return void res.writeHead(404).end()
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      let n = 0
      const ticks = setInterval(() => res.write(`data: tick ${n++}\n\n`), 100)
      events.add(res)
      res.on('close', () => {
        clearInterval(ticks)
        events.delete(res)
      })
    }
  })
  return {
    url: stub.url,
    seen: {
      get upgrades() {
        return stub.upgrades
      },
      get received() {
        return stub.connections.flatMap((conn) => conn.received)
      }
    },
    open: () => stub.connections.filter((conn) => conn.open).length + events.size,
    close: stub.close
  }
}

const target = closedAfterEach(startTarget)
const proxy = closedAfterEach(startFaultProxy)

/** A target behind a proxy that gives every request `fault`. */
async function through(fault: Fault) {
  const behind = await target()
  const via = await proxy(behind.url, () => fault)
  return { behind, via }
}

/** A WebSocket to `url`, and what it saw: whether it opened, its messages, an error, its end. */
function watch(url: string) {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'prefect')
  const seen = { opened: false, messages: [] as string[], errored: false, closed: false }
  socket.addEventListener('open', () => {
    seen.opened = true
  })
  socket.addEventListener('message', (event) => seen.messages.push(String(event.data)))
  socket.addEventListener('error', () => {
    seen.errored = true
  })
  const opened = new Promise<void>((resolve) => socket.addEventListener('open', () => resolve()))
  const closed = new Promise<void>((resolve) =>
    socket.addEventListener('close', () => {
      seen.closed = true
      resolve()
    })
  )
  return { socket, seen, opened, closed }
}

/** An event stream's reader, once its head has come. */
async function follow(url: string) {
  const response = await fetch(`${url}/sse`)
  expect(response.headers.get('content-type')).toBe('text/event-stream')
  return (response.body as ReadableStream<Uint8Array>).getReader()
}

/** The next read of `reader`, or 'nothing' if none comes within `ms`. */
const within = <T>(read: Promise<T>, ms: number) => Promise.race([read, sleep(ms, 'nothing' as const)])

describe('the fault proxy with WebSockets', () => {
  it('passes a WebSocket through both ways, its handshake intact, and counts it once', async () => {
    const { behind, via } = await through({ kind: 'pass' })
    const ws = watch(`${via.url}/ws`)
    await ws.opened
    expect(ws.socket.protocol).toBe('prefect')
    ws.socket.send('hello')
    await expect.poll(() => ws.seen.messages, { timeout: 2_000 }).toEqual(expect.arrayContaining(['tick 0', 'echo hello']))
    expect(behind.seen.received).toEqual(['hello'])
    ws.socket.close()
    await ws.closed
    expect(via.requests).toHaveLength(1)
    expect(via.requests[0]).toMatchObject({ index: 0, method: 'GET', path: '/ws', upgrade: true, fault: { kind: 'pass' } })
    expect(via.requests[0].at).toBeGreaterThan(Date.now() - 5_000)
  })

  it('stall: the socket opens, then nothing passes either way, and it stays open', async () => {
    const { behind, via } = await through({ kind: 'stall' })
    const ws = watch(`${via.url}/ws`)
    await ws.opened
    ws.socket.send('hello')
    await sleep(1_000)
    expect(ws.seen.messages).toEqual([])
    expect(behind.seen.received).toEqual([])
    expect(ws.socket.readyState).toBe(WebSocket.OPEN)
    expect(behind.open()).toBe(1)
  })

  it('stall after afterMs: messages pass for that long, then stop, the socket still open', async () => {
    const { via } = await through({ kind: 'stall', afterMs: 350 })
    const ws = watch(`${via.url}/ws`)
    await sleep(500)
    const passed = ws.seen.messages.length
    expect(passed).toBeGreaterThanOrEqual(1)
    await sleep(500)
    expect(ws.seen.messages).toHaveLength(passed)
    expect(ws.socket.readyState).toBe(WebSocket.OPEN)
  })

  it('drop-after: the socket opens and is cut right after, both sides gone', async () => {
    const { behind, via } = await through({ kind: 'drop-after' })
    const ws = watch(`${via.url}/ws`)
    await ws.closed
    expect(ws.seen.messages).toEqual([])
    await expect.poll(() => behind.open()).toBe(0)
  })

  it('drop-after afterMs: messages pass for that long, then the socket is cut', async () => {
    const { via } = await through({ kind: 'drop-after', afterMs: 350 })
    const ws = watch(`${via.url}/ws`)
    const started = Date.now()
    await ws.closed
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    expect(ws.seen.opened).toBe(true)
    expect(ws.seen.messages.length).toBeGreaterThanOrEqual(1)
  })

  it.each([
    ['status 403', { kind: 'status', status: 403 } as Fault],
    ['drop-before', { kind: 'drop-before' } as Fault]
  ])('%s: the WebSocket fails without opening, the target never asked', async (_, fault) => {
    const { behind, via } = await through(fault)
    const ws = watch(`${via.url}/ws`)
    await ws.closed
    expect(ws.seen).toMatchObject({ opened: false, errored: true })
    expect(behind.seen.upgrades).toBe(0)
    expect(via.requests.map((r) => [r.upgrade, r.fault.kind])).toEqual([[true, fault.kind]])
  })

  it.each([
    ['the target refuses it: relayed as the target answered', { kind: 'pass' } as Fault, [404, 'not there']],
    ['status 403: answered by the proxy', { kind: 'status', status: 403 } as Fault, [403, '{"detail":"injected 403"}']]
  ])('an upgrade not made, %s', async (_, fault, expected) => {
    const { via } = await through(fault)
    const asked = httpRequest(`${via.url}/elsewhere`, { headers: { connection: 'Upgrade', upgrade: 'websocket' } }).end()
    const [answer] = (await once(asked, 'response')) as [IncomingMessage]
    let body = ''
    for await (const piece of answer) body += piece
    expect([answer.statusCode, body]).toEqual(expected)
  })
})

describe('the fault proxy with server-sent events', () => {
  it('passes events as they come, and counts the stream once, not as an upgrade', async () => {
    const { via } = await through({ kind: 'pass' })
    const reader = await follow(via.url)
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: tick 0\n\n')
    await reader.cancel()
    expect(via.requests.map((r) => [r.path, r.upgrade])).toEqual([['/sse', false]])
  })

  it('stall: the head comes, no event does', async () => {
    const { behind, via } = await through({ kind: 'stall' })
    const reader = await follow(via.url)
    expect(await within(reader.read(), 1_000)).toBe('nothing')
    expect(behind.open()).toBe(1)
  })

  it('drop-after afterMs: events pass for that long, then the stream is cut', async () => {
    const { via } = await through({ kind: 'drop-after', afterMs: 350 })
    const reader = await follow(via.url)
    let text = ''
    const cut = await (async () => {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return 'ended'
        text += new TextDecoder().decode(value)
      }
    })().catch((error: Error) => error.message)
    expect(cut).toBe('terminated')
    expect(text).toContain('data: tick 1\n\n')
  })
})

it('close() ends stalled streams on both sides at once', async () => {
  const behind = await target()
  const via = await startFaultProxy(behind.url, () => ({ kind: 'stall' }))
  const ws = watch(`${via.url}/ws`)
  await ws.opened
  const reader = await follow(via.url)
  expect(behind.open()).toBe(2)
  const started = Date.now()
  expect(await within(via.close(), 1_000)).toBeUndefined()
  await ws.closed
  await expect(reader.read()).rejects.toThrow()
  await expect.poll(() => behind.open(), { timeout: 1_000 }).toBe(0)
  expect(Date.now() - started).toBeLessThan(1_000)
})
