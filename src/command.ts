import { exitSoon } from './cancel.js'
import { cli } from './cli.js'

const { code } = await cli(process.argv.slice(2))
process.exitCode = code
exitSoon()
