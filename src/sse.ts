import type { HttpStream } from './http.js'

/** Headers slower than this are not getting through as a stream (a proxy that holds an answer until it is complete). */
export const EVENT_STREAM_OPEN_LIMIT_MS = 5_000

/** What an answer is when it is not a stream of server-sent events (a 2xx `text/event-stream`): `HTTP 404 (application/json)`. */
export function notAnEventStream({ status, headers }: Pick<HttpStream, 'status' | 'headers'>): string | undefined {
  const type = String(headers['content-type'] ?? '')
  if (status >= 200 && status < 300 && type.startsWith('text/event-stream')) return undefined
  return `HTTP ${status} (${type || 'no content type'})`
}

/** One server-sent event: its `id`, `event` and `data` fields (data lines joined by newlines). */
export interface ServerEvent {
  id?: string
  event?: string
  data: string
}

/** The events of a `text/event-stream` body as they come; comments and empty events are skipped. */
export async function* serverEvents(body: AsyncIterable<Buffer>): AsyncGenerator<ServerEvent> {
  const decoder = new TextDecoder()
  let pending = ''
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true })
    const blocks = pending.split(/\r?\n\r?\n/)
    pending = blocks.pop() ?? ''
    for (const block of blocks) {
      const event = parseBlock(block)
      if (event) yield event
    }
  }
}

function parseBlock(block: string): ServerEvent | undefined {
  const event: ServerEvent = { data: '' }
  const data: string[] = []
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon === 0) continue
    const field = colon < 0 ? line : line.slice(0, colon)
    const value = colon < 0 ? '' : line.slice(colon + (line[colon + 1] === ' ' ? 2 : 1))
    if (field === 'data') data.push(value)
    else if (field === 'id') event.id = value
    else if (field === 'event') event.event = value
  }
  event.data = data.join('\n')
  return event.id === undefined && event.event === undefined && data.length === 0 ? undefined : event
}
