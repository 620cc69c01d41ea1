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

export async function prefectApi<T>(server: PrefectEndpoint, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${server.apiUrl}${path}`, {
    method,
    headers: { ...server.headers, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
  return (await response.json()) as T
}

/** The flow runs that carry the tag. */
export function flowRunsTagged(server: PrefectEndpoint, tag: string): Promise<FlowRun[]> {
  return prefectApi<FlowRun[]>(server, 'POST', '/flow_runs/filter', { flow_runs: { tags: { all_: [tag] } } })
}
