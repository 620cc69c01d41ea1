/** A real Prefect server's API as the integration tests read it back: what the action made, as the server holds it. */

interface PrefectEndpoint {
  apiUrl: string
  headers: Record<string, string>
}

export interface FlowRun {
  id: string
  name: string
  parameters: Record<string, unknown>
  tags: string[]
  labels: Record<string, unknown>
  state_type: string
  state_name: string
  idempotency_key: string | null
  next_scheduled_start_time: string | null
  expected_start_time: string | null
}

/**
 * The answer of a request made directly, as the tests check the server. Prefect's SQLite server answers 503
 * while its store is busy (the load test runs beside these files), so a 503 is tried again, as a client would.
 */
export async function prefectApi<T>(server: PrefectEndpoint, method: string, path: string, body?: unknown): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${server.apiUrl}${path}`, {
      method,
      headers: { ...server.headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    if (response.status === 503 && attempt < 10) {
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt))
      continue
    }
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
    const text = await response.text()
    // Some answers have no body (a pause or resume of a deployment: 204).
    return (text === '' ? undefined : JSON.parse(text)) as T
  }
}

/** The flow runs that carry the tag. */
export function flowRunsTagged(server: PrefectEndpoint, tag: string): Promise<FlowRun[]> {
  return prefectApi<FlowRun[]>(server, 'POST', '/flow_runs/filter', { flow_runs: { tags: { all_: [tag] } } })
}
