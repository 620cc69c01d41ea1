import { kestra } from './kestra/index.js'
import type { KestraInputs } from './kestra/inputs.js'
import type { OrchestratorModule } from './orchestrator.js'
import { prefect } from './prefect/index.js'
import type { PrefectInputs } from './prefect/inputs.js'

/** Every orchestrator the action can start runs on: a new one is a folder of its own and a line here. */
export const ORCHESTRATORS = [prefect, kestra] as const

/** Any orchestrator's inputs, as its module read them. */
export type Inputs = PrefectInputs | KestraInputs

/** The module whose inputs these are. */
export function moduleOf(inputs: Inputs): OrchestratorModule<Inputs> {
  return moduleNamed(inputs.orchestrator) as OrchestratorModule<Inputs>
}

export function moduleNamed(id: string): OrchestratorModule | undefined {
  return ORCHESTRATORS.find((module) => module.id === id) as OrchestratorModule | undefined
}
