import { describe, expect, it } from 'vitest'
import type { Artifact, RunResults, TaskRun } from '../../src/results.js'
import { artifactsOutput, artifactsSummary, resultsInShort, taskRunsOutput, taskRunsSummary } from '../../src/results-report.js'

const noRedaction = (text: string) => text
const SECRET = 's3cr3t-value'
const redact = (text: string) => text.replaceAll(SECRET, '***')

function task(name: string, state: string, phase: TaskRun['phase'], startSecond: number, seconds = 2): TaskRun {
  const start = new Date(Date.UTC(2026, 10, 26, 6, 0, startSecond))
  return {
    id: name,
    name,
    state,
    stateName: state.charAt(0) + state.slice(1).toLowerCase(),
    phase,
    start: start.toISOString(),
    end: new Date(start.getTime() + seconds * 1000).toISOString(),
    seconds
  }
}

function results(partial: Partial<RunResults>): RunResults {
  return { artifacts: [], taskRuns: [], omitted: { artifacts: 0, taskRuns: 0 }, ...partial }
}

const report: Artifact = { key: 'report', type: 'markdown', markdown: '# Nightly\n\n- 3 tables loaded\n', description: 'what ran' }
const scores: Artifact = {
  key: 'scores',
  type: 'table',
  columns: ['name', 'score'],
  rows: [
    ['a', 1],
    ['b', null]
  ]
}
const dashboard: Artifact = { key: 'dashboard', type: 'link', url: 'https://example.com/d/1', text: 'Dashboard' }

describe('the artifacts output', () => {
  it('holds each keyed artifact by its key, without its key or creation time; unkeyed ones are left out', () => {
    const output = artifactsOutput(
      results({
        artifacts: [
          report,
          scores,
          dashboard,
          { type: 'progress', percent: 40 },
          { ...report, key: undefined, created: '2026-11-26T06:00:00Z' }
        ]
      }),
      noRedaction
    )
    expect(JSON.parse(output)).toEqual({
      report: { type: 'markdown', markdown: '# Nightly\n\n- 3 tables loaded\n', description: 'what ran' },
      scores: {
        type: 'table',
        columns: ['name', 'score'],
        rows: [
          ['a', 1],
          ['b', null]
        ]
      },
      dashboard: { type: 'link', url: 'https://example.com/d/1', text: 'Dashboard' }
    })
  })

  it('redacts masked secrets in every string, keys included', () => {
    const output = artifactsOutput(results({ artifacts: [{ ...report, key: `k-${SECRET}`, markdown: `token ${SECRET}` }] }), redact)
    expect(output).not.toContain(SECRET)
    expect(JSON.parse(output)).toEqual({ 'k-***': expect.objectContaining({ markdown: 'token ***' }) })
  })

  it('cuts long values to fit one output, and says which were cut', () => {
    const long: Artifact = { key: 'long', type: 'markdown', markdown: 'x'.repeat(2_000_000) }
    const output = artifactsOutput(results({ artifacts: [long, dashboard] }), noRedaction)
    expect(Buffer.byteLength(output)).toBeLessThan(1024 * 1024)
    const parsed = JSON.parse(output)
    expect(parsed.long).toMatchObject({ type: 'markdown', cut: true })
    expect(parsed.long.markdown.length).toBe(16 * 1024)
    expect(parsed.dashboard).toEqual({ type: 'link', url: 'https://example.com/d/1', text: 'Dashboard' })
  })
})

describe('the task-runs output', () => {
  it('lists each task run with its state and times, nulls for what is not known', () => {
    const output = taskRunsOutput(
      results({
        taskRuns: [
          task('extract', 'COMPLETED', 'succeeded', 0),
          { id: 'x', name: 'load', state: 'PENDING', stateName: 'Pending', phase: 'pending' }
        ]
      }),
      noRedaction
    )
    expect(JSON.parse(output)).toEqual([
      {
        name: 'extract',
        state: 'COMPLETED',
        'state-name': 'Completed',
        start: '2026-11-26T06:00:00.000Z',
        end: '2026-11-26T06:00:02.000Z',
        seconds: 2
      },
      { name: 'load', state: 'PENDING', 'state-name': 'Pending', start: null, end: null, seconds: null }
    ])
  })
})

describe('the results in short, for the log', () => {
  it('counts task runs by state, names those that did not succeed, and lists artifacts', () => {
    const lines = resultsInShort(
      results({
        taskRuns: [
          task('extract', 'COMPLETED', 'succeeded', 0),
          task('transform', 'FAILED', 'failed', 2),
          task('load', 'COMPLETED', 'succeeded', 4)
        ],
        artifacts: [report, scores, dashboard, { type: 'progress', percent: 62.5 }],
        omitted: { artifacts: 0, taskRuns: 4 }
      })
    )
    expect(lines).toEqual([
      'Task runs: 7 (2 COMPLETED, 1 FAILED, 4 more not read); not successful: transform',
      'Artifacts: report (markdown), scores (table, 2 rows), dashboard (link https://example.com/d/1), (no key) (progress 62.5%)'
    ])
  })

  it('says nothing of a run that made nothing', () => {
    expect(resultsInShort(results({}))).toEqual([])
  })
})

describe('the task runs in the summary', () => {
  it('puts failed ones first, escapes names, and draws a timeline of two or more', () => {
    const html = taskRunsSummary(
      results({
        taskRuns: [
          task('extract <b>', 'COMPLETED', 'succeeded', 0),
          task('transform', 'FAILED', 'failed', 2, 0.42),
          task('load', 'RUNNING', 'running', 4)
        ]
      }),
      noRedaction
    )
    const rows = [...html.matchAll(/<tr><td>(.*?)<\/td>/g)].map((match) => match[1])
    expect(rows).toEqual(['transform', 'extract &#60;b&#62;', 'load'])
    expect(html).toContain('<b>FAILED (Failed)</b>')
    expect(html).toContain('<td>0.4s</td>')
    expect(taskRunsSummary(results({ taskRuns: [task('quick', 'COMPLETED', 'succeeded', 0, 0.01)] }), noRedaction)).toContain(
      '<td>&#60;0.1s</td>'
    )
    expect(html).toContain('```mermaid\ngantt\n    dateFormat x')
    const start = Date.UTC(2026, 10, 26, 6, 0, 2)
    expect(html).toContain(`    transform :crit, ${start}, ${start + 420}`)
    expect(html).toContain('    extract b :done, ')
    expect(html).toContain('    load :')
  })

  it('draws no timeline of one task run, and none when no task run started', () => {
    expect(taskRunsSummary(results({ taskRuns: [task('only', 'COMPLETED', 'succeeded', 0)] }), noRedaction)).not.toContain('mermaid')
    const unstarted = { id: 'p', name: 'p', state: 'PENDING', stateName: 'Pending', phase: 'pending' as const }
    expect(taskRunsSummary(results({ taskRuns: [unstarted, { ...unstarted, id: 'q' }] }), noRedaction)).not.toContain('mermaid')
  })

  it('keeps a task name from being read as Mermaid syntax', () => {
    const html = taskRunsSummary(
      results({
        taskRuns: [
          task('section evil: x', 'COMPLETED', 'succeeded', 0),
          task('a;b#c%%d\n    click x href "javascript:alert(1)"', 'COMPLETED', 'succeeded', 1)
        ]
      }),
      noRedaction
    )
    const gantt = html.slice(html.indexOf('```mermaid'))
    const bars = gantt.split('\n').filter((line) => line.startsWith('    ') && !/dateFormat|axisFormat/.test(line))
    expect(bars).toHaveLength(2)
    expect(bars[0]).toMatch(/^ {4}task section evil x :done, \d+, \d+$/)
    expect(bars[1]).toMatch(/^ {4}a b c d click x href javascript alert\(1\) :done, \d+, \d+$/)
  })

  it('cuts a long list, and counts what it left out and what was not read', () => {
    const many = Array.from({ length: 120 }, (_, i) => task(`t${i}`, 'COMPLETED', 'succeeded', i % 60))
    const html = taskRunsSummary(results({ taskRuns: many, omitted: { artifacts: 0, taskRuns: 30 } }), noRedaction)
    expect([...html.matchAll(/<tr><td>/g)]).toHaveLength(50)
    expect(html).toContain('<h4>Task runs (150)</h4>')
    expect(html).toContain('and 100 more task runs')
    expect(html.split('\n').filter((line) => line.includes(':done,'))).toHaveLength(50)
  })

  it('redacts masked secrets in names, the timeline too', () => {
    const html = taskRunsSummary(
      results({ taskRuns: [task(`load ${SECRET}`, 'COMPLETED', 'succeeded', 0), task('b', 'COMPLETED', 'succeeded', 1)] }),
      redact
    )
    expect(html).not.toContain(SECRET)
  })
})

describe('the artifacts in the summary', () => {
  const big = 1024 * 1024

  it('renders markdown as Markdown, tables as tables, links as links, progress as a bar', () => {
    const text = artifactsSummary(
      results({ artifacts: [report, scores, dashboard, { key: 'done', type: 'progress', percent: 40 }] }),
      noRedaction,
      big
    )
    expect(text).toContain('\n# Nightly\n\n- 3 tables loaded\n')
    expect(text).toContain('<tr><th>name</th><th>score</th></tr><tr><td>a</td><td>1</td></tr><tr><td>b</td><td></td></tr>')
    expect(text).toContain('<a href="https://example.com/d/1">Dashboard</a>')
    expect(text).toContain(`<code>${'█'.repeat(8)}${'░'.repeat(12)}</code> 40%`)
    expect(text).toContain('<h5><code>report</code></h5>\n<p>what ran</p>')
  })

  it('closes a code fence and an HTML comment that an artifact leaves open', () => {
    const text = artifactsSummary(
      results({ artifacts: [{ key: 'a', type: 'markdown', markdown: '````py\n```\nstill code\n<!-- open' }, dashboard] }),
      noRedaction,
      big
    )
    const first = text.slice(text.indexOf('still code'), text.indexOf('dashboard'))
    expect(first).toMatch(/still code\n<!-- open\n````\n\n<!-- end of the artifact -->/)
  })

  it('redacts masked secrets in the markdown and tables', () => {
    const text = artifactsSummary(
      results({
        artifacts: [
          { ...report, markdown: `key ${SECRET}` },
          { ...scores, rows: [[SECRET, 1]] }
        ]
      }),
      redact,
      big
    )
    expect(text).not.toContain(SECRET)
  })

  it('escapes table cells, and links only to the web', () => {
    const text = artifactsSummary(
      results({
        artifacts: [
          { key: 't', type: 'table', columns: ['<x>'], rows: [['**bold** | pipe']] },
          { key: 'l', type: 'link', url: 'javascript:alert(1)', text: 'click' },
          { key: 'i', type: 'image', url: 'data:image/png;base64,AAAA' }
        ]
      }),
      noRedaction,
      big
    )
    expect(text).toContain('<th>&#60;x&#62;</th>')
    expect(text).toContain('<td>&#42;&#42;bold&#42;&#42; &#124; pipe</td>')
    expect(text).not.toContain('href="javascript')
    expect(text).not.toContain('<img')
  })

  it('stays within its budget: a huge artifact is cut, one that no longer fits is counted, small ones after it still shown', () => {
    const huge: Artifact = { key: 'huge', type: 'markdown', markdown: `${'line of text\n'.repeat(200_000)}` }
    const text = artifactsSummary(
      results({ artifacts: [huge, { ...huge, key: 'huge-too' }, dashboard], omitted: { artifacts: 5, taskRuns: 0 } }),
      noRedaction,
      600_000
    )
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(600_000)
    expect(text).toContain('Cut at ')
    expect(text).toContain('<a href="https://example.com/d/1">Dashboard</a>')
    expect(text).toMatch(/1 not shown, for GitHub's size limit of a step summary \(huge-too\); 5 more than were read/)
  })

  it('names a type it does not show', () => {
    expect(artifactsSummary(results({ artifacts: [{ key: 'r', type: 'other', kind: 'result', data: {} }] }), noRedaction, big)).toContain(
      "A 'result' artifact: flow-dispatch does not show this type here"
    )
  })
})
