import { HttpClient } from '@actions/http-client'
// undici's own WebSocket, not Node's global one: the same on every Node the CLI supports, and it takes the
// runner's proxy from @actions/http-client (the dispatcher is undici's too). It is in the bundle already.
import { WebSocket } from 'undici'

/** A handshake not answered by then will not be: a proxy holding the upgrade, say. */
const HANDSHAKE_LIMIT_MS = 10_000

export interface SocketOptions {
  protocols: string[]
  headers: Record<string, string>
}

export interface SocketHandlers {
  open(send: (text: string) => void): void
  /** A message from the server; throwing closes the socket and rejects the session with the error. */
  message(text: string, send: (text: string) => void): void
}

export interface SocketClose {
  code: number
  reason: string
  /** Whether the handshake ever succeeded. */
  opened: boolean
}

/**
 * One WebSocket session, from the handshake to the close: resolves with how
 * it closed (by the server, or by `signal`), rejects with the error a
 * handler threw. A handshake that fails closes with 1006 and `opened` false:
 * the runtime tells nothing more (not even the HTTP status).
 */
export function webSocketSession(url: string, options: SocketOptions, handlers: SocketHandlers, signal: AbortSignal): Promise<SocketClose> {
  const socketUrl = new URL(url)
  socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:'
  const dispatcher = new HttpClient().getAgentDispatcher(url)
  return new Promise((resolve, reject) => {
    let opened = false
    let settled = false
    let failure: unknown
    const socket = new WebSocket(socketUrl, { protocols: options.protocols, headers: options.headers, ...(dispatcher && { dispatcher }) })
    // A socket closed or failed before its handshake ends may never fire `close`: the session ends here then.
    const settle = (close: SocketClose) => {
      if (settled) return
      settled = true
      clearTimeout(handshake)
      signal.removeEventListener('abort', onAbort)
      if (failure !== undefined) reject(failure)
      else resolve(close)
    }
    const unopened = (reason: string) => settle({ code: 1006, reason, opened: false })
    const send = (text: string) => socket.send(text)
    const fail = (error: unknown) => {
      failure ??= error
      socket.close()
      if (!opened) unopened('failed')
    }
    // Closed from our side: over for us now, whether or not the server ever answers the close.
    const onAbort = () => {
      socket.close()
      settle({ code: 1000, reason: opened ? 'closed by the client' : 'closed before it opened', opened })
    }
    const handshake = setTimeout(() => {
      if (opened) return
      socket.close()
      unopened(`no answer to the handshake within ${HANDSHAKE_LIMIT_MS / 1000}s`)
    }, HANDSHAKE_LIMIT_MS)
    signal.addEventListener('abort', onAbort, { once: true })
    socket.addEventListener('open', () => {
      opened = true
      clearTimeout(handshake)
      try {
        handlers.open(send)
      } catch (error) {
        fail(error)
      }
    })
    socket.addEventListener('message', (event) => {
      if (failure !== undefined) return
      try {
        handlers.message(typeof event.data === 'string' ? event.data : Buffer.from(event.data as ArrayBuffer).toString('utf8'), send)
      } catch (error) {
        fail(error)
      }
    })
    socket.addEventListener('error', () => {
      if (!opened) unopened('the handshake failed')
    })
    socket.addEventListener('close', (event) => settle({ code: event.code, reason: event.reason, opened }))
    if (signal.aborted) onAbort()
  })
}
