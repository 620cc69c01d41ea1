import { exitSoonIfCancelled } from './cancel.js'
import { ActionsHost } from './host.js'
import { run } from './main.js'

const { jobCancelled } = await run(new ActionsHost())
exitSoonIfCancelled(jobCancelled)
