import { run } from './main.js'

const { jobCancelled } = await run()
// A request still in flight must not keep a cancelled step alive until the runner kills it.
if (jobCancelled) setTimeout(() => process.exit(), 300).unref()
