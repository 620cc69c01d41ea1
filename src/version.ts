import pkg from '../package.json' with { type: 'json' }

export const VERSION = pkg.version
export const USER_AGENT = `flow-dispatch/${pkg.version}`
