#!/usr/bin/env node
import { quickAnswer } from './usage.js'

/** Where `npm run bundle` puts the engine, from this file. */
const ENGINE = './command/index.js'

/**
 * The command's launcher, a bundle of its own: `--help` or `--version` alone
 * is answered here, and anything else loads the command's engine, bundled
 * next to it (`command/index.js`), which starts the HTTP stack.
 */
const quick = quickAnswer(process.argv.slice(2))
if (quick !== undefined) process.stdout.write(quick)
else await import(/* webpackIgnore: true */ ENGINE)
