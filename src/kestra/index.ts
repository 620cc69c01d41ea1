import { emptyRequest } from '../common-inputs.js'
import type { OrchestratorModule } from '../orchestrator.js'
import { KestraClient } from './client.js'
import { type KestraInputs, kestraCredentials, readKestraInputs } from './inputs.js'
import { KESTRA_DEFAULT_FAIL_ON, KESTRA_TERMINAL_STATES } from './states.js'

/** Kestra servers older than 0.23 have no tenant; `none` is what the input says then, and never a tenant id. */
const NO_TENANT = 'none'

export const kestra: OrchestratorModule<KestraInputs> = {
  id: 'kestra',
  product: 'Kestra',
  inputs: { namespace: 'string', flow: 'string', tenant: 'string', files: 'string', revision: 'string' },
  creationInputs: ['files', 'revision'],
  items: { file: 'files' },
  url: { env: 'KESTRA_URL', example: 'https://kestra.example.com (or set KESTRA_URL)' },
  terminalStates: KESTRA_TERMINAL_STATES,
  defaultFailOn: KESTRA_DEFAULT_FAIL_ON,
  credentials: kestraCredentials,
  readInputs: readKestraInputs,
  saveTarget: (inputs) => ({ tenant: inputs.tenant ?? NO_TENANT }),
  savedNames: ['tenant'],
  connect: (inputs, context) => new KestraClient(inputs, context),
  // Read and kill use only the server, the credentials and the tenant: the rest stays empty.
  reconnect: ({ server, credentials, details }, context) =>
    new KestraClient(
      {
        ...emptyRequest(server, credentials),
        orchestrator: 'kestra',
        tenant: details.tenant === NO_TENANT ? undefined : details.tenant,
        namespace: '',
        flow: '',
        files: []
      },
      context
    )
}
