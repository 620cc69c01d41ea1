import { once } from 'node:events'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Recorded {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: string
}

export type Reply =
  | { status: number; json?: unknown; text?: string; headers?: Record<string, string> }
  /** Close the connection without an answer. */
  | 'drop'
  /** Send the headers, then never finish the body. */
  | 'stall'

export interface Stub {
  url: string
  requests: Recorded[]
  close(): Promise<void>
}

/**
 * A local HTTP server on 127.0.0.1 for the faults and answers a real server
 * will not give on demand. `reply` sees each request in turn.
 */
export async function startStub(reply: (request: Recorded, index: number) => Reply): Promise<Stub> {
  const requests: Recorded[] = []
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() }
    requests.push(recorded)
    const answer = reply(recorded, requests.length - 1)
    if (answer === 'drop') {
      req.socket.destroy()
      return
    }
    if (answer === 'stall') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.write('{"partial":')
      return
    }
    const body = answer.json !== undefined ? JSON.stringify(answer.json) : (answer.text ?? '')
    res.writeHead(answer.status, { 'content-type': answer.json !== undefined ? 'application/json' : 'text/plain', ...answer.headers })
    res.end(body)
  })
  // No stub speaks WebSocket: an upgrade is refused as a server without the stream refuses it, never handed to `reply`.
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n'))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async close() {
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}
