import { once } from 'node:events'
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

/**
 * A fault-injecting HTTP proxy, between the action and a real server, for
 * the faults no real server gives on demand. Each request gets the fault its
 * plan names:
 * - `pass`: forwarded, answered;
 * - `drop-before`: the connection is closed before anything is forwarded;
 * - `drop-after`: forwarded, so the server acts on it, then the connection is
 *   closed before the answer (the case that makes a retried create a duplicate);
 * - `status`: answered here with that status (and `Retry-After`), never forwarded;
 * - `slow`: forwarded, and the answer's body sent in pieces over `slowMs`;
 * - `stall`: forwarded, the answer's head passed on and its body never: a
 *   proxy that swallows what follows, holding both connections open.
 * A stream is passed on as it comes, as a proxy that does not buffer does:
 * a stream of server-sent events, or a WebSocket (an upgrade, relayed byte for
 * byte both ways once the target switches protocols). On a stream,
 * `drop-after` cuts it after `afterMs` (without it: after the first event, or
 * right after the 101 of an upgrade), `stall` stops passing anything either
 * way after `afterMs` (without it: at once) and keeps it open, `slow` holds an
 * upgrade's 101 back for `slowMs`, and `status` refuses an upgrade.
 * `rewrite` changes what is forwarded: it lets the real server stand behind
 * what it cannot be itself (another path layout, another kind of credentials).
 */
export type Fault =
  | { kind: 'pass' }
  | { kind: 'drop-before' }
  | { kind: 'drop-after'; afterMs?: number }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'slow'; slowMs: number }
  | { kind: 'stall'; afterMs?: number }

export interface ProxiedRequest {
  index: number
  method: string
  path: string
  headers: IncomingHttpHeaders
  /** A WebSocket handshake (`Upgrade: websocket`), relayed as a stream when the target accepts it. */
  upgrade: boolean
  fault: Fault
  /** When the request arrived (ms since the epoch). */
  at: number
  /** The target's status, once it answered a forwarded request. */
  status?: number
}

export interface FaultProxy {
  /** Stands in for the target: the proxy's origin with the target's path, so a client given it reaches the same API. */
  url: string
  requests: ProxiedRequest[]
  /** Ends everything, streams stalled or not, both sides, so no test leaves a handle open. */
  close(): Promise<void>
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name)))
}

export type Rewrite = (request: { path: string; headers: IncomingHttpHeaders }) => { path: string; headers: IncomingHttpHeaders }

/** The status line and headers (name, value, name, value…) of an answer, as written on a raw socket. */
function rawHead(status: number, message: string | undefined, rawHeaders: string[]): string {
  const lines = [`HTTP/1.1 ${status} ${message || STATUS_CODES[status] || ''}`]
  for (let i = 0; i < rawHeaders.length; i += 2) lines.push(`${rawHeaders[i]}: ${rawHeaders[i + 1]}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

/**
 * Whether a stream's pieces are passed on, over time: `stall` stops them (at
 * once, or after `afterMs`), `drop-after` with `afterMs` calls `cut` then.
 * `stop` ends the timer with the stream, so none outlives it.
 */
function streamGate(fault: Fault, cut: () => void): { passing: () => boolean; stop: () => void } {
  let passing = !(fault.kind === 'stall' && !fault.afterMs)
  let timer: NodeJS.Timeout | undefined
  if (fault.kind === 'stall' && fault.afterMs)
    timer = setTimeout(() => {
      passing = false
    }, fault.afterMs)
  if (fault.kind === 'drop-after' && fault.afterMs !== undefined) timer = setTimeout(cut, fault.afterMs)
  return { passing: () => passing, stop: () => clearTimeout(timer) }
}

/** Pieces from `from` (after `first`, read with its head) written to `to` while the gate passes them; swallowed otherwise. */
function relay(first: Buffer, from: Duplex, to: Duplex, passing: () => boolean): void {
  if (first.length > 0 && passing()) to.write(first)
  from.on('data', (piece: Buffer) => passing() && to.write(piece))
  from.on('end', () => passing() && to.end())
}

export async function startFaultProxy(
  target: string,
  plan: (request: Omit<ProxiedRequest, 'fault' | 'at'>) => Fault,
  rewrite?: Rewrite
): Promise<FaultProxy> {
  const upstream = new URL(target)
  const requests: ProxiedRequest[] = []
  // The proxy's own agent and a list of its sockets: `close` ends them all, upgraded ones included,
  // which neither the agent nor the server keeps once a connection has switched protocols.
  const agent = new Agent({ keepAlive: true })
  const sockets = new Set<Duplex>()
  const track = (socket: Duplex) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  }
  const record = (req: IncomingMessage, upgrade: boolean): { fault: Fault; entry: ProxiedRequest } => {
    const seen = { index: requests.length, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, upgrade }
    const entry = { ...seen, fault: plan(seen), at: Date.now() }
    requests.push(entry)
    return { fault: entry.fault, entry }
  }
  const forward = (req: IncomingMessage, headers: (sent: IncomingHttpHeaders) => IncomingHttpHeaders) => {
    const sent = rewrite ? rewrite({ path: req.url ?? '/', headers: req.headers }) : { path: req.url ?? '/', headers: req.headers }
    return httpRequest({
      agent,
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: sent.path,
      headers: { ...headers(sent.headers), host: upstream.host }
    })
  }
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const { fault, entry } = record(req, false)
    if (fault.kind === 'drop-before') {
      req.socket.destroy()
      return
    }
    if (fault.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter && { 'retry-after': fault.retryAfter }) })
      res.end(JSON.stringify({ detail: `injected ${fault.status}` }))
      return
    }
    const forwarded = forward(req, forwardable)
    forwarded.on('response', async (answer) => {
      entry.status = answer.statusCode
      if (String(answer.headers['content-type']).startsWith('text/event-stream')) {
        // The head at once, as a server does before its first event: a stalled stream is one that opened.
        res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers))
        res.flushHeaders()
        const gate = streamGate(fault, () => req.socket.destroy())
        res.on('close', () => {
          gate.stop()
          answer.destroy()
        })
        const firstOnly = fault.kind === 'drop-after' && fault.afterMs === undefined
        answer.on('data', (piece: Buffer) => {
          if (gate.passing()) res.write(piece)
          if (firstOnly) req.socket.destroy()
        })
        answer.on('end', () => gate.passing() && res.end())
        return
      }
      const parts: Buffer[] = []
      for await (const part of answer) parts.push(part as Buffer)
      const payload = Buffer.concat(parts)
      if (fault.kind === 'drop-after') {
        req.socket.destroy()
        return
      }
      res.writeHead(answer.statusCode ?? 502, { ...forwardable(answer.headers), 'content-length': String(payload.length) })
      if (fault.kind === 'stall') return void res.flushHeaders()
      if (fault.kind === 'slow') {
        const pieces = 5
        const size = Math.ceil(payload.length / pieces)
        for (let i = 0; i < pieces; i++) {
          res.write(payload.subarray(i * size, (i + 1) * size))
          await new Promise((resolve) => setTimeout(resolve, fault.slowMs / pieces))
        }
      }
      res.end(fault.kind === 'slow' ? undefined : payload)
    })
    forwarded.on('error', () => req.socket.destroy())
    forwarded.end(body)
  })
  server.on('connection', track)
  server.on('upgrade', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    // A stream's connections end in resets when a fault cuts them: that is the point, not a failure of the proxy.
    client.on('error', () => client.destroy())
    const { fault } = record(req, true)
    if (fault.kind === 'drop-before') return void client.destroy()
    if (fault.kind === 'status') {
      const refusal = JSON.stringify({ detail: `injected ${fault.status}` })
      const headers = ['content-type', 'application/json', 'content-length', String(Buffer.byteLength(refusal)), 'connection', 'close']
      if (fault.retryAfter) headers.push('retry-after', fault.retryAfter)
      return void client.end(rawHead(fault.status, undefined, headers) + refusal)
    }
    // The upgrade's own headers (`Connection`, `Upgrade`, `Sec-WebSocket-*`) go on: they are the handshake.
    const forwarded = forward(req, (headers) => headers)
    forwarded.on('upgrade', async (answer: IncomingMessage, socket: Duplex, socketHead: Buffer) => {
      track(socket)
      socket.on('error', () => socket.destroy())
      // Neither side outlives the other: a stall holds both open, not one alone.
      client.on('close', () => socket.destroy())
      socket.on('close', () => client.destroy())
      if (fault.kind === 'slow') await new Promise((resolve) => setTimeout(resolve, fault.slowMs))
      // The client may have gone while the target answered: its 'close' has passed, so its peer goes here.
      if (client.destroyed) return void socket.destroy()
      const cut = () => {
        client.destroy()
        socket.destroy()
      }
      const handshake = rawHead(answer.statusCode ?? 101, answer.statusMessage, answer.rawHeaders)
      if (fault.kind === 'drop-after' && fault.afterMs === undefined) return void client.write(handshake, cut)
      client.write(handshake)
      const gate = streamGate(fault, cut)
      client.on('close', gate.stop)
      relay(socketHead, socket, client, gate.passing)
      relay(head, client, socket, gate.passing)
    })
    // A target that does not switch protocols is answered as it answered, the connection closed after.
    forwarded.on('response', (answer: IncomingMessage) => {
      const kept = answer.rawHeaders.flatMap((name, i, all) =>
        i % 2 === 0 && !HOP_BY_HOP.includes(name.toLowerCase()) ? [name, all[i + 1]] : []
      )
      client.write(rawHead(answer.statusCode ?? 502, answer.statusMessage, [...kept, 'connection', 'close']))
      answer.pipe(client)
    })
    forwarded.on('error', () => client.destroy())
    forwarded.end()
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname.replace(/\/$/, '')}`,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy()
      agent.destroy()
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}

/** A small seeded generator (mulberry32): the same seed gives the same series of faults. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
