import { type CommonInputs, type Credentials, booleanInput, mask, optional, readCredentials } from '../common-inputs.js'
import { InputError } from '../errors.js'
import type { Host } from '../host.js'
import { type JsonObject, parseList, parseMapping } from '../mapping.js'

type DeploymentRef = { kind: 'id'; id: string } | { kind: 'name'; flow: string; name: string }

export interface PrefectInputs extends CommonInputs {
  orchestrator: 'prefect'
  deployment: DeploymentRef
  runName?: string
  tags: string[]
  jobVariables?: JsonObject
  workQueue?: string
  enforceParameterSchema?: boolean
  /** Create-request fields that have no input of their own. */
  extraBody: JsonObject
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** DeploymentFlowRunCreate fields with no input of their own. */
const PREFECT_EXTRA_FIELDS = ['context', 'empirical_policy', 'parent_task_run_id', 'infrastructure_document_id']

/** DeploymentFlowRunCreate fields that an input sets, and which input. */
const PREFECT_FIELDS_BY_INPUT: Record<string, string> = {
  parameters: 'parameters',
  name: 'run-name',
  tags: 'tags',
  labels: 'labels',
  job_variables: 'job-variables',
  work_queue_name: 'work-queue',
  state: 'scheduled-time',
  idempotency_key: 'idempotency-key',
  enforce_parameter_schema: 'enforce-parameter-schema'
}

export function readPrefectInputs(host: Host, common: CommonInputs): PrefectInputs {
  const { url } = common
  if (new URL(url).hostname === 'app.prefect.cloud') {
    throw new InputError(
      'url',
      'points at the Prefect Cloud UI; use the API URL https://api.prefect.cloud/api/accounts/<account-id>/workspaces/<workspace-id>'
    )
  }
  const extraBody = parseMapping('extra-body', host.input('extra-body')) ?? {}
  for (const key of Object.keys(extraBody)) {
    if (key in PREFECT_FIELDS_BY_INPUT) {
      throw new InputError('extra-body', `sets '${key}'; use ${host.inputLabel(PREFECT_FIELDS_BY_INPUT[key])} instead`)
    }
    if (!PREFECT_EXTRA_FIELDS.includes(key)) {
      throw new InputError(
        'extra-body',
        `sets '${key}', which is not a field of Prefect's create-flow-run request; allowed: ${PREFECT_EXTRA_FIELDS.join(', ')}`
      )
    }
  }
  if (common.runId !== undefined && !UUID.test(common.runId))
    throw new InputError('run-id', `must be a Prefect flow run id, a UUID (8-4-4-4-12 hexadecimal digits); got '${common.runId}'`)
  const enforce = host.input('enforce-parameter-schema')
  return {
    orchestrator: 'prefect',
    ...common,
    deployment: deploymentRef(host.input('deployment')),
    runName: optional(host, 'run-name'),
    tags: parseList(host.input('tags')),
    jobVariables: parseMapping('job-variables', host.input('job-variables')),
    workQueue: optional(host, 'work-queue'),
    enforceParameterSchema: enforce === '' ? undefined : booleanInput(host, 'enforce-parameter-schema', true),
    extraBody
  }
}

/** The credential inputs, with Prefect's own environment variables as fallbacks. */
export function prefectCredentials(host: Host): Credentials {
  return readCredentials(host, 'PREFECT_API_KEY', () => {
    const auth = (process.env.PREFECT_API_AUTH_STRING ?? '').trim()
    if (auth === '') return undefined
    mask(host, auth)
    const colon = auth.indexOf(':')
    if (colon < 0) throw new InputError('username', "is empty and PREFECT_API_AUTH_STRING is not in the form 'user:password'")
    return { username: auth.slice(0, colon), password: auth.slice(colon + 1), source: 'PREFECT_API_AUTH_STRING' }
  })
}

function deploymentRef(raw: string): DeploymentRef {
  if (raw === '') {
    throw new InputError('deployment', "is required: give the deployment's UUID or 'flow-name/deployment-name'")
  }
  if (UUID.test(raw)) return { kind: 'id', id: raw.toLowerCase() }
  const parts = raw.split('/')
  // Prefect names cannot contain '/', so exactly one slash separates flow and deployment.
  if (parts.length === 2 && parts[0].trim() !== '' && parts[1].trim() !== '') {
    return { kind: 'name', flow: parts[0], name: parts[1] }
  }
  if (parts.length === 1 && /^[0-9a-f-]+$/i.test(raw)) {
    throw new InputError('deployment', `'${raw}' is not a valid UUID (expected 8-4-4-4-12 hexadecimal digits)`)
  }
  throw new InputError('deployment', `must be a deployment UUID or 'flow-name/deployment-name'; got '${raw}'`)
}
