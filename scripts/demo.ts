/**
 * The demo: a real orchestrator on this machine, then the bundled action run
 * against it exactly as a runner runs it. Prints the step's log, its outputs
 * and its job summary, then stops everything.
 *   demo.ts prefect   a Prefect server and a served flow (the default)
 *   demo.ts kestra    a Kestra OSS server (shared/kestra-server) and a flow created through its API
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../test/support/action.ts'
import { deployFlows, startKestraServer } from '../test/support/kestra.ts'
import { prefectVenv, serveFlow, startPrefectServer } from '../test/support/prefect.ts'

async function show(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<void> {
  const shown = Object.entries(inputs).map(([k, v]) => `  INPUT_${k.toUpperCase()}=${k === 'password' ? '(secret)' : JSON.stringify(v)}`)
  console.log(`\nRunning dist/index.js under Node ${process.version} with:\n${shown.join('\n')}\n`)
  console.log('----- step log -----')
  const result = await runAction(inputs, env, { echo: true })
  console.log(`----- exit code: ${result.code} -----\n\n----- outputs (GITHUB_OUTPUT) -----`)
  for (const [name, value] of Object.entries(result.outputs)) console.log(`${name}=${value}`)
  console.log(`\n----- job summary (GITHUB_STEP_SUMMARY) -----\n${result.summary}`)
  process.exitCode = result.code ?? 1
}

async function prefect(): Promise<void> {
  const venv = prefectVenv()
  console.log('Starting a Prefect server on 127.0.0.1 (SQLite, analytics off) ...')
  const server = await startPrefectServer(venv)
  try {
    console.log(`Prefect API: ${server.apiUrl}\nServing the flow it-flow as deployment it-flow/demo ...`)
    const serve = await serveFlow(venv, server, 'demo')
    try {
      await show({
        orchestrator: 'prefect',
        url: server.apiUrl,
        deployment: 'it-flow/demo',
        parameters: 'message: hello from flow-dispatch\ncount: 3\nsleep_seconds: 3',
        labels: 'purpose=demo',
        timeout: '5m',
        'poll-interval': '2s'
      })
    } finally {
      await serve.stop()
    }
  } finally {
    await server.stop()
  }
}

async function kestra(): Promise<void> {
  console.log(
    'Starting a Kestra OSS server on 127.0.0.1 (in-memory H2, basic auth, usage reports off; the first start fetches its jars) ...'
  )
  const server = await startKestraServer()
  try {
    console.log(
      `Kestra: ${server.url}, ready in ${(server.startMs / 1000).toFixed(1)} s\nCreating the test flows (namespace dev, among them dev.demo) through the flows API ...`
    )
    await deployFlows(server)
    const workspace = mkdtempSync(join(tmpdir(), 'flow-dispatch-demo-'))
    writeFileSync(join(workspace, 'report.csv'), 'id,value\n1,42\n')
    await show(
      {
        orchestrator: 'kestra',
        url: server.url,
        username: server.username,
        password: server.password,
        namespace: 'dev',
        flow: 'demo',
        parameters: 'message: hello from flow-dispatch\ncount: 21',
        files: 'report=report.csv',
        labels: 'purpose=demo',
        timeout: '5m',
        'poll-interval': '2s'
      },
      { GITHUB_WORKSPACE: workspace }
    )
  } finally {
    await server.stop()
  }
}

const which = process.argv[2] ?? 'prefect'
switch (which) {
  case 'prefect':
    await prefect()
    break
  case 'kestra':
    await kestra()
    break
  default:
    console.error(`demo: unknown orchestrator '${which}'; give prefect or kestra`)
    process.exitCode = 2
}
