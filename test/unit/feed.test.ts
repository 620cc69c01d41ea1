import { describe, expect, it } from 'vitest'
import { Api } from '../../src/api.js'
import { type Connection, Feed, NoStream, type StreamEnd } from '../../src/feed.js'
import { kestraStateEvents } from '../../src/kestra/follow.js'
import type { RunStatus } from '../../src/orchestrator.js'
import { serverEvents } from '../../src/sse.js'
import { closedAfterEach } from '../support/lifetime.ts'
import { type Reply, startStub } from '../support/stub-server.ts'

/** A log that keeps what the feed says, by level. */
function recorder() {
  const lines: string[] = []
  return { lines, info: (text: string) => void lines.push(`info: ${text}`), debug: (text: string) => void lines.push(`debug: ${text}`) }
}

/** A connection that plays one scripted attempt per open: `open` (then stays open until aborted), `drop` after opening, `fail`, or an end. */
function scripted(attempts: Array<'open' | 'drop' | 'fail' | 'none' | StreamEnd>) {
  let opened = 0
  const connection: Connection<string> = {
    name: 'the test stream',
    open: async (deliver, onOpen, signal) => {
      const step = attempts[Math.min(opened++, attempts.length - 1)]
      if (step === 'fail') throw new Error('refused')
      if (step === 'none') throw new NoStream('the server has none')
      onOpen()
      deliver([`message ${opened}`])
      if (step === 'drop') throw new Error('reset')
      if (step !== 'open') return step
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
      return 'closed'
    }
  }
  return { connection, attempts: () => opened }
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('Feed', () => {
  it('opens again after a drop, says so once, and is live again', async () => {
    const log = recorder()
    const got: string[] = []
    const { connection, attempts } = scripted(['drop', 'drop', 'open'])
    const feed = new Feed(connection, { host: log, fallback: 'polling', deliver: (items) => got.push(...items) })
    await until(() => feed.live && attempts() === 3)
    expect(got).toEqual(['message 1', 'message 2', 'message 3'])
    expect(log.lines.filter((line) => line.startsWith('info:'))).toEqual([
      'info: The test stream dropped (reset); opening it again, polling meanwhile'
    ])
    expect(feed.changes).toBe(5)
    await feed.close()
    expect(feed.live).toBe(false)
    expect(feed.done).toBe(true)
  })

  it('gives a stream that never opens up after three tries, in one line', async () => {
    const log = recorder()
    const { connection, attempts } = scripted(['fail'])
    const feed = new Feed(connection, { host: log, fallback: 'reading its state every 10s', deliver: () => undefined })
    await until(() => feed.done)
    expect(attempts()).toBe(3)
    expect(log.lines.filter((line) => line.startsWith('info:'))).toEqual([
      'info: Not using the test stream: it did not open (refused); reading its state every 10s instead'
    ])
  })

  it('gives up at once on a server that has no such stream', async () => {
    const log = recorder()
    const { connection, attempts } = scripted(['none'])
    const feed = new Feed(connection, { host: log, fallback: 'polling', deliver: () => undefined })
    await until(() => feed.done)
    expect(attempts()).toBe(1)
    expect(log.lines).toEqual(['info: Not using the test stream: the server has none; polling instead'])
  })

  it('does not reopen a stream the server ended as complete', async () => {
    const { connection, attempts } = scripted(['complete'])
    const feed = new Feed(connection, { host: recorder(), fallback: 'polling', deliver: () => undefined })
    await until(() => feed.done)
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(attempts()).toBe(1)
  })

  it('reopens at once when told the stream stalled, and closes promptly', async () => {
    const { connection, attempts } = scripted(['open'])
    const feed = new Feed(connection, { host: recorder(), fallback: 'polling', deliver: () => undefined })
    await until(() => feed.live)
    const started = Date.now()
    feed.reopen('a read found news')
    await until(() => attempts() === 2 && feed.live)
    expect(Date.now() - started).toBeLessThan(500)
    await feed.close()
  })
})

describe('serverEvents', () => {
  it('parses fields, joins data lines, skips comments, and keeps an event split across chunks whole', async () => {
    async function* body() {
      yield Buffer.from(': keepalive\n\nid: start\ndata: \n\nid: progress\nda')
      yield Buffer.from('ta: {"a":\ndata: 1}\r\n\r\nevent: x\n\n')
    }
    const events = []
    for await (const event of serverEvents(body())) events.push(event)
    expect(events).toEqual([
      { id: 'start', data: '' },
      { id: 'progress', data: '{"a":\n1}' },
      { event: 'x', data: '' }
    ])
  })
})

describe('kestraStateEvents', () => {
  const RUN = '4Zx9kqLmN2pQrStUvWxYz1'
  const at = (s: number) => new Date(Date.UTC(2026, 10, 22, 0, 0, s)).toISOString()
  const snapshot = (...states: string[]) => ({
    id: RUN,
    state: { current: states.at(-1), histories: states.map((state, i) => ({ state, date: at(i) })) }
  })

  const listen = closedAfterEach(startStub)

  /** A Kestra API whose every answer is `reply`. */
  async function serve(reply: Reply): Promise<Api & { url: string }> {
    const { url } = await listen(() => reply)
    const host = recorder()
    const api = new Api({
      product: 'Kestra',
      server: url,
      credentials: { kind: 'none' },
      userAgent: 't',
      host: { ...host, warning: () => undefined, inputLabel: (n: string) => n } as never,
      credentialHint: () => ''
    })
    return Object.assign(api, { url })
  }
  const events = (text: string): Reply => ({ status: 200, text, headers: { 'content-type': 'text/event-stream' } })

  it('hands on each state once, the ones a snapshot passed over too, and ends at `end`', async () => {
    const progress = (data: object) => `id: progress\ndata: ${JSON.stringify(data)}\n\n`
    // The second snapshot passes over RUNNING; the third repeats the second.
    const api = await serve(
      events(
        `id: start\ndata: \n\n${progress(snapshot('CREATED'))}${progress(snapshot('CREATED', 'RUNNING', 'SUCCESS'))}` +
          `${progress(snapshot('CREATED', 'RUNNING', 'SUCCESS'))}id: end\ndata: \n\n`
      )
    )
    const got: RunStatus[] = []
    let opened = 0
    const end = await kestraStateEvents(api, `${api.url}/follow`, RUN).open(
      (items) => got.push(...items),
      () => opened++,
      new AbortController().signal
    )
    expect(end).toBe('complete')
    expect(opened).toBe(1)
    expect(got.map((s) => `${s.state}@${s.since}`)).toEqual([`CREATED@${at(0)}`, `RUNNING@${at(1)}`, `SUCCESS@${at(2)}`])
  })

  it('is no stream where the server answers something else, and a closed one without `end`', async () => {
    const json = await serve({ status: 404, json: {} })
    const open = (api: Api & { url: string }) =>
      kestraStateEvents(api, `${api.url}/follow`, RUN).open(
        () => undefined,
        () => undefined,
        new AbortController().signal
      )
    await expect(open(json)).rejects.toThrow(NoStream)
    await expect(open(json)).rejects.toThrow('the server answered HTTP 404 (application/json)')
    const cut = await serve(events('id: start\ndata: \n\n'))
    expect(await open(cut)).toBe('closed')
  })
})
