import { FlowDispatchError } from './errors.js'
import type { HttpResponse } from './http.js'
import { isPlainObject } from './mapping.js'

/**
 * The server's own explanation from an error body, in the shapes the
 * orchestrators send: `{"detail": "..."}`, FastAPI/pydantic lists of
 * `{loc, msg}` (as `detail` or `exception_detail`), `{"message": "..."}`.
 */
export function explain(response: HttpResponse): string {
  let body: unknown
  try {
    body = JSON.parse(response.body)
  } catch (error) {
    // Not JSON (a proxy's HTML page, say): show its start rather than nothing.
    return condense(response.body) || `(empty body; ${(error as Error).message})`
  }
  if (!isPlainObject(body)) return condense(response.body)
  const parts: string[] = []
  for (const key of ['exception_message', 'message', 'detail', 'exception_detail']) {
    const value = body[key]
    if (typeof value === 'string') parts.push(value)
    else if (Array.isArray(value)) parts.push(...value.map(validationItem))
  }
  return parts.length > 0 ? condense(parts.join('; ')) : condense(response.body)
}

function validationItem(item: unknown): string {
  if (!isPlainObject(item)) return JSON.stringify(item)
  const loc = Array.isArray(item.loc) ? item.loc.filter((part) => part !== 'body').join('.') : ''
  const msg = typeof item.msg === 'string' ? item.msg : JSON.stringify(item)
  return loc ? `${loc}: ${msg}` : msg
}

function condense(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat
}

export function parseJson<T>(response: HttpResponse, what: string): T {
  try {
    return JSON.parse(response.body) as T
  } catch (error) {
    throw new FlowDispatchError(
      'server',
      `${what}: the answer was not JSON (${(error as Error).message}): ${condense(response.body).slice(0, 200)}`,
      { status: response.status }
    )
  }
}
