import { describe, expect, inject, it } from 'vitest'
import { runAction, runCli } from '../support/action.ts'
import { explain } from '../support/explain.ts'
import { uniqueTag } from '../support/unique.ts'

/**
 * What a run produced, end to end: the bundled action runs a real flow that
 * makes artifacts and task runs, and its outputs, log and summary are read as
 * a later step and a user would read them.
 */

const prefect = inject('prefect')
const kestra = inject('kestra')

const report = { orchestrator: 'prefect', url: prefect.apiUrl, deployment: 'it-report/it-deployment', 'poll-interval': '2s' }

/** The task-run table's rows of a summary: name and state type. */
function taskRows(summary: string): string[][] {
  const table = summary.slice(summary.indexOf('<h4>Task runs'), summary.indexOf('</table>', summary.indexOf('<h4>Task runs')))
  return [...table.matchAll(/<tr><td>([^<]*)<\/td><td>(?:<b>)?([A-Z]+)/g)].map((match) => [match[1], match[2]])
}

interface TaskRunOutput {
  name: string
  state: string
  'state-name': string
  start: string | null
  end: string | null
  seconds: number | null
}

describe('what a Prefect run produced', () => {
  it('shows its artifacts and three task runs in the summary and the outputs, and none of its text acts', async () => {
    const result = await runAction({ ...report, tags: uniqueTag('produced') })
    expect(result.code, explain(result)).toBe(0)
    const { outputs, summary } = result

    const artifacts = JSON.parse(outputs.artifacts)
    expect(Object.keys(artifacts).sort()).toEqual(['chart', 'dashboard', 'pairs', 'progress', 'report', 'scores', 'status'])
    expect(artifacts.scores).toMatchObject({ type: 'table', columns: ['name', 'score'], description: 'Scores by item' })
    expect(artifacts.scores.rows).toHaveLength(3)
    expect(artifacts.dashboard).toEqual({ type: 'link', url: 'https://example.com/dashboard', text: 'Dashboard' })
    expect(artifacts.progress).toMatchObject({ type: 'progress', percent: 75 })
    expect(artifacts.report.type).toBe('markdown')
    expect(artifacts.report.markdown).toContain('# Nightly report')
    // The newest version of a key written twice.
    expect(artifacts.status.markdown).toContain('final')
    expect(artifacts.status.markdown).not.toContain('draft')

    const tasks = JSON.parse(outputs['task-runs']) as TaskRunOutput[]
    expect(tasks.map((task) => task.state)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED'])
    expect(tasks.map((task) => task.name.replace(/-[0-9a-z]+$/, ''))).toEqual(['extract', 'score', 'check'])
    for (const task of tasks) expect(Date.parse(task.end ?? '')).toBeGreaterThanOrEqual(Date.parse(task.start ?? ''))

    // The summary: the report rendered as Markdown, the table, the link, the progress, the task runs and their timeline.
    expect(summary).toContain('\n# Nightly report\n')
    expect(summary).toContain('<th>name</th><th>score</th>')
    expect(summary).toContain('<a href="https://example.com/dashboard">Dashboard</a>')
    expect(summary).toMatch(/<code>█{15}░{5}<\/code> 75%/)
    expect(summary).toContain('<h4>Task runs (3)</h4>')
    expect(summary).toContain('```mermaid\ngantt')
    expect(summary).toContain('<img src="https://example.com/chart.png"')

    // The report holds `::set-output name=x::pwned` and `::add-mask::x`: as text, in a guarded log and in Markdown.
    expect(outputs.x).toBeUndefined()
    expect(result.stdout).toContain('Task runs: 3 (3 COMPLETED)')
    expect(result.stdout).toMatch(/Artifacts: .*report \(markdown\)/)
  })

  it('puts the failed task run first, and keeps the outputs of a failed run', async () => {
    const result = await runAction({ ...report, parameters: 'fail_task: true' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('failed')
    const tasks = JSON.parse(result.outputs['task-runs']) as TaskRunOutput[]
    expect(tasks.find((task) => task.name.startsWith('check'))?.state).toBe('FAILED')
    const rows = taskRows(result.summary).map(([name, state]) => [name.replace(/-[0-9a-z]+$/, ''), state])
    expect(rows).toHaveLength(3)
    expect(rows[0]).toEqual(['check', 'FAILED'])
    expect(result.stdout).toMatch(/not successful: check/)
    expect(Object.keys(JSON.parse(result.outputs.artifacts))).toContain('report')
  })

  it('gives the command the same, in its --json result and, in short, in its plain output', async () => {
    const json = await runCli([
      'prefect',
      '--url',
      prefect.apiUrl,
      '--deployment',
      'it-report/it-deployment',
      '--poll-interval',
      '2s',
      '--json'
    ])
    expect(json.code, json.stderr).toBe(0)
    const document = JSON.parse(json.stdout)
    expect(Object.keys(JSON.parse(document.artifacts))).toContain('scores')
    expect(JSON.parse(document['task-runs'])).toHaveLength(3)

    const plain = await runCli(['prefect', '--url', prefect.apiUrl, '--deployment', 'it-report/it-deployment', '--poll-interval', '2s'])
    expect(plain.code, plain.stderr).toBe(0)
    expect(plain.stdout).toContain('Task runs: 3 (3 COMPLETED)')
    expect(plain.stdout).toMatch(/Artifacts: .*scores \(table, 3 rows\)/)
  })
})

describe('what a Kestra execution produced', () => {
  const base = {
    orchestrator: 'kestra',
    url: kestra.url,
    username: kestra.username,
    password: kestra.password,
    namespace: 'dev',
    flow: 'report'
  }

  it('shows its three task runs, in the order they started, and no artifacts', async () => {
    const result = await runAction(base)
    expect(result.code, explain(result)).toBe(0)
    const tasks = JSON.parse(result.outputs['task-runs']) as TaskRunOutput[]
    expect(tasks.map((task) => [task.name, task.state])).toEqual([
      ['greet', 'SUCCESS'],
      ['work', 'SUCCESS'],
      ['finish', 'SUCCESS']
    ])
    expect(tasks[1].seconds).toBeGreaterThanOrEqual(1)
    expect(result.outputs.artifacts).toBe('{}')
    expect(result.summary).toContain('<h4>Task runs (3)</h4>')
    expect(result.summary).toContain('```mermaid\ngantt')
    expect(result.summary).not.toContain('<h4>Artifacts</h4>')
  })

  it('puts the failed task run first', async () => {
    const result = await runAction({ ...base, parameters: 'fail: true' })
    expect(result.code, explain(result)).toBe(1)
    expect(taskRows(result.summary)).toEqual([
      ['finish', 'FAILED'],
      ['greet', 'SUCCESS'],
      ['work', 'SUCCESS']
    ])
  })
})
