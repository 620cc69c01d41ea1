import { maskUrlCredentials, readCommonInputs } from './common-inputs.js'
import { InputError } from './errors.js'
import type { Host } from './host.js'
import { type Inputs, moduleNamed, ORCHESTRATORS } from './orchestrators.js'

/**
 * Reads and checks every input once, the orchestrator's own in its folder.
 * Throws `InputError` before any request is made.
 */
export function getInputs(host: Host): Inputs {
  maskUrlCredentials(
    host,
    ORCHESTRATORS.map((module) => module.url.env)
  )
  const id = host.input('orchestrator').toLowerCase()
  const choices = ORCHESTRATORS.map((module) => `'${module.id}'`).join(' or ')
  if (id === '') throw new InputError('orchestrator', `is required: set it to ${choices}`)
  const module = moduleNamed(id)
  if (!module) throw new InputError('orchestrator', `must be ${choices}; got '${id}'`)
  // Inputs that mean something to another orchestrator only are refused, not ignored.
  for (const other of ORCHESTRATORS) {
    if (other === module) continue
    for (const name of Object.keys(other.inputs)) {
      if (!(name in module.inputs) && host.input(name) !== '') {
        throw new InputError(name, `is for ${other.product} only, and orchestrator is '${id}'`)
      }
    }
  }
  return module.readInputs(host, readCommonInputs(host, module)) as Inputs
}
