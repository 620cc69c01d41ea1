#!/usr/bin/env node
import { cli } from './cli.js'

const { code, jobCancelled } = await cli(process.argv.slice(2))
process.exitCode = code
// A request still in flight must not keep a cancelled command alive.
if (jobCancelled) setTimeout(() => process.exit(), 300).unref()
