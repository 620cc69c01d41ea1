import { once } from 'node:events'
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A fault-injecting HTTP proxy, between the action and a real server, for
 * the faults no real server gives on demand. Each request gets the fault its
 * plan names:
 * - `pass`: forwarded, answered;
 * - `drop-before`: the connection is closed before anything is forwarded;
 * - `drop-after`: forwarded, so the server acts on it, then the connection is
 *   closed before the answer (the case that makes a retried create a duplicate);
 * - `status`: answered here with that status (and `Retry-After`), never forwarded;
 * - `slow`: forwarded, and the answer's body sent in pieces over `slowMs`.
 * A stream of server-sent events is passed on as it comes (`drop-after` cuts
 * it after its first piece), as a proxy that does not buffer does.
 * `rewrite` changes what is forwarded: it lets the real server stand behind
 * what it cannot be itself (another path layout, another kind of credentials).
 */
export type Fault =
  | { kind: 'pass' }
  | { kind: 'drop-before' }
  | { kind: 'drop-after' }
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'slow'; slowMs: number }

export interface ProxiedRequest {
  index: number
  method: string
  path: string
  headers: IncomingHttpHeaders
  fault: Fault
  /** When the request arrived (ms since the epoch). */
  at: number
}

export interface FaultProxy {
  /** Stands in for the target: the proxy's origin with the target's path, so a client given it reaches the same API. */
  url: string
  requests: ProxiedRequest[]
  close(): Promise<void>
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade']

function forwardable(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.includes(name)))
}

export type Rewrite = (request: { path: string; headers: IncomingHttpHeaders }) => { path: string; headers: IncomingHttpHeaders }

export async function startFaultProxy(
  target: string,
  plan: (request: Omit<ProxiedRequest, 'fault' | 'at'>) => Fault,
  rewrite?: Rewrite
): Promise<FaultProxy> {
  const upstream = new URL(target)
  const requests: ProxiedRequest[] = []
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const seen = { index: requests.length, method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers }
    const fault = plan(seen)
    requests.push({ ...seen, fault, at: Date.now() })
    if (fault.kind === 'drop-before') {
      req.socket.destroy()
      return
    }
    if (fault.kind === 'status') {
      res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter && { 'retry-after': fault.retryAfter }) })
      res.end(JSON.stringify({ detail: `injected ${fault.status}` }))
      return
    }
    const sent = rewrite ? rewrite({ path: seen.path, headers: req.headers }) : { path: seen.path, headers: req.headers }
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: sent.path,
        headers: { ...forwardable(sent.headers), host: upstream.host }
      },
      async (answer) => {
        // A stream (server-sent events) is passed on as it comes; `drop-after` cuts it after its first piece.
        if (String(answer.headers['content-type']).startsWith('text/event-stream')) {
          res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers))
          res.on('close', () => answer.destroy())
          if (fault.kind !== 'drop-after') return void answer.pipe(res)
          answer.once('data', (piece: Buffer) => {
            res.write(piece)
            req.socket.destroy()
          })
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
        if (fault.kind === 'slow') {
          const pieces = 5
          const size = Math.ceil(payload.length / pieces)
          for (let i = 0; i < pieces; i++) {
            res.write(payload.subarray(i * size, (i + 1) * size))
            await new Promise((resolve) => setTimeout(resolve, fault.slowMs / pieces))
          }
        }
        res.end(fault.kind === 'slow' ? undefined : payload)
      }
    )
    forwarded.on('error', () => req.socket.destroy())
    forwarded.end(body)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${upstream.pathname.replace(/\/$/, '')}`,
    requests,
    async close() {
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
