/** What a Prefect server answers, as the unit tests' stub servers give it. */

export const DEPLOYMENT_ID = '11111111-2222-4333-8444-555555555555'
export const RUN_ID = '99999999-8888-4777-8666-555555555555'

/** A deployment as `GET /deployments/name/{flow}/{deployment}` returns it. */
export const deployment = {
  id: DEPLOYMENT_ID,
  name: 'nightly',
  flow_id: 'f',
  status: 'READY',
  parameter_openapi_schema: { properties: {} }
}

/** The flow run RUN_ID in a state; `message` is the state's, any other field is the run's own (and wins). */
export function flowRun(
  stateType: string,
  stateName: string,
  { message = null, ...fields }: { message?: string | null; [field: string]: unknown } = {}
): Record<string, unknown> {
  return {
    id: RUN_ID,
    name: 'brave-otter',
    state_type: stateType,
    state_name: stateName,
    state: { type: stateType, name: stateName, timestamp: '2026-11-22T18:00:00Z', message },
    ...fields
  }
}
