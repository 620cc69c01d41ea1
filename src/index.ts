import { exitSoon } from './cancel.js'
import { post } from './cleanup.js'
import { ActionsHost } from './host.js'
import { run } from './main.js'
import { isPostStep } from './state.js'

// One bundle for both steps, as actions/checkout does: the runner gives the post step what the main step
// saved, so the isPost the main step saves first tells the two apart.
const host = new ActionsHost()
if (isPostStep(host)) await post(host)
else await run(host)
exitSoon()
