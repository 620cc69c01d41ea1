import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ActionResult, runAction } from '../support/action.ts'
import { explain } from '../support/explain.ts'
import { startFaultProxy } from '../support/fault-proxy.ts'
import { type FlowRun, flowRunsTagged, prefectApi as api } from '../support/prefect-api.ts'
import { type PrefectServer, prefectVenv, serveFlow, startPrefectServer } from '../support/prefect.ts'
import type { Background } from '../support/processes.ts'
import { uniqueRunId, uniqueTag } from '../support/unique.ts'

/**
 * The smoke set on the older Prefect servers the action supports, each a real
 * server from PyPI with its own pinned requirements (test/compat/prefect-*),
 * serving the test flows: the bundle creates, follows, cancels and reads runs
 * there as it does on the newest, where the full suite runs.
 */

const here = dirname(fileURLToPath(import.meta.url))

interface Version {
  version: string
  requirements: string
  /** The artifact keys it-report leaves: 2.x has no progress or image artifacts. */
  artifacts: string[]
  /** Where the server sends flow-run state events (3.x): else the action says once that it polls. */
  stateEvents: boolean
  /** Whether a served deployment enforces its parameter schema by default: 2.x's `to_deployment` does not. */
  enforcesSchema: boolean
}

const VERSIONS: Version[] = [
  {
    version: '2.20.27',
    requirements: join(here, 'prefect-2.20', 'requirements.txt'),
    artifacts: ['dashboard', 'pairs', 'report', 'scores', 'status'],
    stateEvents: false,
    enforcesSchema: false
  },
  {
    version: '3.0.0',
    requirements: join(here, 'prefect-3.0', 'requirements.txt'),
    artifacts: ['chart', 'dashboard', 'pairs', 'progress', 'report', 'scores', 'status'],
    stateEvents: true,
    enforcesSchema: true
  }
]

const DEPLOYMENT = 'compat'

describe.each(VERSIONS.map((v) => [v.version, v] as const))(
  'Prefect %s: the smoke set, with the bundle',
  (_, { version, requirements, artifacts, stateEvents, enforcesSchema }) => {
    let server: PrefectServer | undefined
    let serving: Background | undefined

    beforeAll(async () => {
      const venv = prefectVenv(requirements)
      server = await startPrefectServer(venv)
      serving = await serveFlow(venv, server, DEPLOYMENT)
    })

    afterAll(async () => {
      await serving?.stop()
      await server?.stop()
    })

    const open = () => server as PrefectServer
    const step = (tag: string, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionResult> =>
      runAction(
        { orchestrator: 'prefect', url: open().apiUrl, deployment: `it-flow/${DEPLOYMENT}`, tags: tag, 'poll-interval': '1s', ...inputs },
        // One GitHub run per step: two steps must never meet through the idempotency key.
        { GITHUB_RUN_ID: uniqueRunId(), ...env }
      )

    it('is the release it claims to be', async () => {
      expect(await api<string>(open(), 'GET', '/admin/version')).toBe(version)
    })

    it('creates a run with typed parameters and follows it to success, printing its log; the origin is in the tags', async () => {
      const tag = uniqueTag('compat')
      const result = await step(tag, { parameters: 'message: "2026-11-22"\ncount: 3\nlines: 3' })
      expect(result.code, explain(result)).toBe(0)
      expect(result.outputs).toMatchObject({ state: 'COMPLETED', 'state-name': 'Completed', outcome: 'success' })
      expect(result.stdout).toContain(`(server ${version})`)
      expect(result.stdout).toMatch(/ INFO {5}line 00002 of 3$/m)
      expect(result.stdout).toContain("message='2026-11-22' count=3 outcome='succeed'")
      // Where the server has no state events, the action says so once, and polls.
      const notStreamed = result.stdout.match(/^Not using the event stream of flow run .*$/gm) ?? []
      expect(notStreamed).toEqual(
        stateEvents ? [] : [expect.stringContaining(`Prefect ${version} sends no flow-run state events by default`)]
      )
      // Neither release has a log stream: no socket is tried, so nothing is said about one.
      expect(result.stdout).not.toContain('log stream')

      const runs = await flowRunsTagged(open(), tag)
      expect(runs).toHaveLength(1)
      const run = await api<FlowRun>(open(), 'GET', `/flow_runs/${runs[0].id}`)
      expect(run.parameters).toEqual({ message: '2026-11-22', count: 3, lines: 3 })
      expect(run.tags).toEqual(expect.arrayContaining([tag, 'github:acme/pipelines']))
      expect(run.labels?.['github.repository']).toBeUndefined()
      expect(run.idempotency_key).toMatch(/^github\/acme\/pipelines\/\d+\/1\/release\/trigger\//)
    })

    it('fails the step on a failed run, with the reason', async () => {
      const result = await step(uniqueTag('compat'), { parameters: '{"outcome": "fail", "message": "boom-42"}' })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs).toMatchObject({ state: 'FAILED', 'state-name': 'Failed', outcome: 'failed' })
      expect(result.stdout).toContain('failing on purpose: boom-42')
      expect(result.summary).toContain('Prefect run: failed')
    })

    it('cancels a run at the timeout, and it ends CANCELLED', async () => {
      const result = await step(uniqueTag('compat'), { parameters: 'sleep_seconds: 60', timeout: '15s' })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs).toMatchObject({ outcome: 'timed-out', state: 'CANCELLED' })
      expect(result.stdout).toMatch(
        /did not end within the timeout of 15s; it was RUNNING \(Running\) and was cancelled: it ended CANCELLED/
      )
      expect((await api<FlowRun>(open(), 'GET', `/flow_runs/${result.outputs['run-id']}`)).state_type).toBe('CANCELLED')
    })

    it("reads the run's artifacts and task runs into the outputs", async () => {
      const result = await step(uniqueTag('compat'), { deployment: `it-report/${DEPLOYMENT}` })
      expect(result.code, explain(result)).toBe(0)
      const produced = JSON.parse(result.outputs.artifacts)
      expect(Object.keys(produced).sort()).toEqual(artifacts)
      expect(produced.scores).toMatchObject({ type: 'table', columns: ['name', 'score'] })
      expect(produced.dashboard).toEqual({ type: 'link', url: 'https://example.com/dashboard', text: 'Dashboard' })
      expect(produced.status.markdown).toContain('final')
      const tasks = JSON.parse(result.outputs['task-runs']) as Array<{ name: string; state: string }>
      expect(tasks.map((task) => task.name.replace(/-[0-9a-z]+$/, ''))).toEqual(['extract', 'score', 'check'])
      expect(tasks.map((task) => task.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED'])
    })

    it('retries a create whose answer is lost into the same run: the idempotency key holds', async () => {
      const tag = uniqueTag('compat')
      const isCreate = (r: { method: string; path: string }) => r.method === 'POST' && r.path.endsWith('/create_flow_run')
      let dropped = false
      const via = await startFaultProxy(open().apiUrl, (request) => {
        if (dropped || !isCreate(request)) return { kind: 'pass' }
        dropped = true
        return { kind: 'drop-after' }
      })
      try {
        const result = await runAction(
          { orchestrator: 'prefect', url: via.url, deployment: `it-flow/${DEPLOYMENT}`, tags: tag, 'poll-interval': '1s' },
          { GITHUB_RUN_ID: uniqueRunId() }
        )
        expect(result.code, explain(result)).toBe(0)
        expect(via.requests.filter(isCreate).length).toBeGreaterThanOrEqual(2)
        const runs = await flowRunsTagged(open(), tag)
        expect(runs.map((run) => run.id)).toEqual([result.outputs['run-id']])
      } finally {
        await via.close()
      }
    })

    it('shows the request in a dry run, without labels, and creates nothing', async () => {
      const tag = uniqueTag('compat')
      const result = await step(tag, { 'dry-run': 'true', parameters: 'count: 2' })
      expect(result.code, explain(result)).toBe(0)
      expect(result.stdout).toContain('Dry run: nothing is created')
      expect(result.stdout).toContain('"github:acme/pipelines"')
      expect(result.stdout).not.toContain('"labels"')
      expect(await flowRunsTagged(open(), tag)).toEqual([])
    })

    it("checks the parameters against the deployment's schema in a dry run, as the server would", async () => {
      const tag = uniqueTag('compat')
      const result = await step(tag, { 'dry-run': 'true', parameters: 'count: three' })
      const problem = `'count' must be integer; got string "three"`
      if (enforcesSchema) {
        expect(result.code, explain(result)).toBe(1)
        expect(result.stdout).toContain(
          `Input 'parameters' does not fit the parameter schema of deployment 'it-flow/${DEPLOYMENT}': ${problem}`
        )
      } else {
        expect(result.code, explain(result)).toBe(0)
        expect(result.stdout).toContain(
          `${problem}; deployment 'it-flow/${DEPLOYMENT}' does not enforce its parameter schema, so Prefect would accept it`
        )
      }
      expect(await flowRunsTagged(open(), tag)).toEqual([])
    })

    it('refuses labels the user set, naming the input and the release, and creates nothing', async () => {
      const tag = uniqueTag('compat')
      const result = await step(tag, { labels: 'team=data' })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs.outcome).toBe('error')
      expect(result.stdout).toContain(
        `Input 'labels' is set, but Prefect ${version} takes no 'labels' on a new flow run: that came in Prefect 3.1.11. Nothing was created.`
      )
      expect(await flowRunsTagged(open(), tag)).toEqual([])
    })
  }
)
