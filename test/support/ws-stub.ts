import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'

/** One accepted WebSocket, as the server side sees it. */
export interface WsConnection {
  path: string
  headers: IncomingHttpHeaders
  /** The subprotocol echoed in the handshake, '' for none. */
  protocol: string
  /** The client's text messages so far. */
  received: string[]
  /** The client's next text message (the first not yet taken); rejects if the socket ends first. */
  next(): Promise<string>
  send(text: string): void
  /** A close frame with `code` and `reason`; the connection ends when the client answers it. */
  close(code: number, reason?: string): void
  /** The TCP connection cut, no close frame: the client sees 1006. */
  drop(): void
  /** The code of the client's close frame, once it sent one. */
  clientClose: number | undefined
  /** Resolves when the TCP connection has ended, however it ended. */
  ended: Promise<void>
  readonly open: boolean
}

export interface WsStubOptions {
  onConnection?(conn: WsConnection): void
  /** Whether an upgrade is accepted (else a 404 `not there`); all are by default. */
  accepts?(path: string, headers: IncomingHttpHeaders): boolean
  /** Echo the first subprotocol the client asks for (the default), or accept none, which fails a client that asked. */
  echoProtocol?: boolean
  /** Plain HTTP requests, with their body read; a 404 without it. */
  http?(request: { method: string; path: string; body: string }, res: ServerResponse): void
}

export interface WsStub {
  url: string
  /** Every accepted WebSocket, in order. */
  connections: WsConnection[]
  /** Upgrade requests of any kind, refused ones included. */
  upgrades: number
  /** Ends everything: the sockets (cut), open HTTP answers, the server. */
  close(): Promise<void>
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

/** A frame as a server sends it: final, unmasked. */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length
  if (n < 126) return Buffer.concat([Buffer.from([0x80 | opcode, n]), payload])
  const head = Buffer.from([0x80 | opcode, n < 65_536 ? 126 : 127, ...Buffer.alloc(n < 65_536 ? 2 : 8)])
  if (n < 65_536) head.writeUInt16BE(n, 2)
  else head.writeBigUInt64BE(BigInt(n), 2)
  return Buffer.concat([head, payload])
}

/** A hand-made WebSocket server on 127.0.0.1 (RFC 6455, unfragmented frames): the stream a client's tests need, no library. */
export async function startWsStub(options: WsStubOptions = {}): Promise<WsStub> {
  const sockets = new Set<Duplex>()
  const stub: WsStub = { url: '', connections: [], upgrades: 0, close: async () => {} }
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const piece of req) body += piece
    if (!options.http) return void res.writeHead(404).end()
    options.http({ method: req.method ?? '', path: req.url ?? '', body }, res)
  })
  server.on('upgrade', (req, socket: Duplex) => {
    stub.upgrades++
    socket.on('error', () => socket.destroy())
    const path = req.url ?? ''
    if (options.accepts && !options.accepts(path, req.headers))
      return void socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot there')
    sockets.add(socket)
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}${GUID}`).digest('base64')
    const asked = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')[0]
      .trim()
    const protocol = options.echoProtocol === false ? '' : asked
    const head = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`]
    socket.write(`${[...head, ...(protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []), '', ''].join('\r\n')}`)
    const queue: string[] = []
    const waiting: Array<{ resolve: (text: string) => void; reject: (error: Error) => void }> = []
    const write = (opcode: number, payload: Buffer) => void (socket.writable && socket.write(frame(opcode, payload)))
    let closing = false
    const conn: WsConnection = {
      path,
      headers: req.headers,
      protocol,
      received: [],
      clientClose: undefined,
      ended: new Promise((resolve) => socket.on('close', () => resolve())),
      get open() {
        return !socket.destroyed
      },
      next: () => {
        const text = queue.shift()
        if (text !== undefined) return Promise.resolve(text)
        if (socket.destroyed) return Promise.reject(new Error('the WebSocket ended'))
        return new Promise((resolve, reject) => void waiting.push({ resolve, reject }))
      },
      send: (text) => write(0x1, Buffer.from(text)),
      close: (code, reason = '') => {
        const payload = Buffer.alloc(2 + Buffer.byteLength(reason))
        payload.writeUInt16BE(code)
        payload.write(reason, 2)
        write(0x8, payload)
        closing = true
      },
      drop: () => void socket.destroy()
    }
    socket.on('close', () => {
      sockets.delete(socket)
      for (const waiter of waiting.splice(0)) waiter.reject(new Error('the WebSocket ended'))
    })
    // A client's frames are masked: 2 bytes of header, a 16- or 64-bit length past 125, 4 bytes of mask, the payload.
    let pending = Buffer.alloc(0)
    socket.on('data', (piece: Buffer) => {
      pending = Buffer.concat([pending, piece])
      for (;;) {
        if (pending.length < 2) return
        const short = pending[1] & 0x7f
        const start = short < 126 ? 2 : short === 126 ? 4 : 10
        if (pending.length < start + 4) return
        const length = short < 126 ? short : short === 126 ? pending.readUInt16BE(2) : Number(pending.readBigUInt64BE(2))
        if (pending.length < start + 4 + length) return
        const mask = pending.subarray(start, start + 4)
        const payload = Buffer.from(pending.subarray(start + 4, start + 4 + length).map((byte, i) => byte ^ mask[i % 4]))
        const opcode = pending[0] & 0x0f
        pending = pending.subarray(start + 4 + length)
        if (opcode === 0x8) {
          // The client's close, in answer to ours or first (then answered with its code): the connection ends.
          conn.clientClose = payload.length >= 2 ? payload.readUInt16BE(0) : 1005
          socket.end(closing ? undefined : frame(0x8, payload.subarray(0, 2)))
          return
        }
        if (opcode === 0x9) write(0xa, payload)
        if (opcode !== 0x1) continue
        const text = payload.toString('utf8')
        conn.received.push(text)
        const waiter = waiting.shift()
        if (waiter) waiter.resolve(text)
        else queue.push(text)
      }
    })
    stub.connections.push(conn)
    options.onConnection?.(conn)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  stub.close = async () => {
    for (const socket of sockets) socket.destroy()
    server.closeAllConnections()
    server.close()
    await once(server, 'close')
  }
  return stub
}
