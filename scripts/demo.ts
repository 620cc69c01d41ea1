/**
 * The demo: a real Prefect server and a served flow on this machine, then the
 * bundled action run against them exactly as a runner runs it. Prints the
 * step's log, its outputs and its job summary, then stops everything.
 */
import { runAction } from '../test/support/action.ts'
import { prefectVenv, serveFlow, startPrefectServer } from '../test/support/prefect.ts'

const venv = prefectVenv()
console.log('Starting a Prefect server on 127.0.0.1 (SQLite, analytics off) ...')
const server = await startPrefectServer(venv)
try {
  console.log(`Prefect API: ${server.apiUrl}\nServing the flow it-flow as deployment it-flow/demo ...`)
  const serve = await serveFlow(venv, server, 'demo')
  try {
    const inputs = {
      orchestrator: 'prefect',
      url: server.apiUrl,
      deployment: 'it-flow/demo',
      parameters: 'message: hello from flow-dispatch\ncount: 3\nsleep_seconds: 3',
      labels: 'purpose=demo',
      timeout: '5m',
      'poll-interval': '2s'
    }
    console.log(`\nRunning dist/index.js under Node ${process.version} with:\n${Object.entries(inputs).map(([k, v]) => `  INPUT_${k.toUpperCase()}=${JSON.stringify(v)}`).join('\n')}\n`)
    console.log('----- step log -----')
    const result = await runAction(inputs, {}, { echo: true })
    console.log(`----- exit code: ${result.code} -----\n\n----- outputs (GITHUB_OUTPUT) -----`)
    for (const [name, value] of Object.entries(result.outputs)) console.log(`${name}=${value}`)
    console.log(`\n----- job summary (GITHUB_STEP_SUMMARY) -----\n${result.summary}`)
    process.exitCode = result.code ?? 1
  } finally {
    await serve.stop()
  }
} finally {
  await server.stop()
}
