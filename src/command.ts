import { exitSoonIfCancelled } from './cancel.js'
import { cli } from './cli.js'

const { code, jobCancelled } = await cli(process.argv.slice(2))
process.exitCode = code
exitSoonIfCancelled(jobCancelled)
