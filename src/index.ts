import { getState, saveState } from '@actions/core'
import { post } from './cleanup.js'
import { run } from './main.js'

// One bundle for both steps, as actions/checkout does: the runner gives the post step what the main step
// saved, so a saved isPost tells the two apart.
if (getState('isPost')) {
  await post()
} else {
  saveState('isPost', 'true')
  const { jobCancelled } = await run()
  // A request still in flight must not keep a cancelled step alive until the runner kills it.
  if (jobCancelled) setTimeout(() => process.exit(), 300).unref()
}
