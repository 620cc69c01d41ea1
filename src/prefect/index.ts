import { emptyRequest } from '../common-inputs.js'
import type { OrchestratorModule } from '../orchestrator.js'
import { PrefectClient } from './client.js'
import { type PrefectInputs, prefectCredentials, readPrefectInputs } from './inputs.js'
import { PREFECT_DEFAULT_FAIL_ON, PREFECT_TERMINAL_STATES } from './states.js'

export const prefect: OrchestratorModule<PrefectInputs> = {
  id: 'prefect',
  product: 'Prefect',
  inputs: {
    deployment: 'string',
    'run-name': 'string',
    tags: 'string',
    'job-variables': 'string',
    'work-queue': 'string',
    'enforce-parameter-schema': 'boolean',
    'extra-body': 'string'
  },
  creationInputs: ['run-name', 'tags', 'job-variables', 'work-queue', 'enforce-parameter-schema', 'extra-body'],
  items: { tag: 'tags' },
  url: { env: 'PREFECT_API_URL', example: 'http://prefect.example.com:4200/api (or set PREFECT_API_URL)' },
  terminalStates: PREFECT_TERMINAL_STATES,
  defaultFailOn: PREFECT_DEFAULT_FAIL_ON,
  credentials: prefectCredentials,
  readInputs: readPrefectInputs,
  saveTarget: () => ({}),
  savedNames: [],
  connect: (inputs, context) => new PrefectClient(inputs, context),
  // Read and cancel use only the server and the credentials: the rest stays empty.
  reconnect: ({ server, credentials }, context) =>
    new PrefectClient(
      {
        ...emptyRequest(server, credentials),
        orchestrator: 'prefect',
        deployment: { kind: 'id', id: '' },
        tags: [],
        extraBody: {}
      },
      context
    )
}
