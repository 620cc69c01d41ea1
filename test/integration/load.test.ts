import { describe, expect, inject, it } from 'vitest'
import { runAction } from '../support/action.ts'
import { explain } from '../support/explain.ts'
import { flowRunsTagged } from '../support/prefect-api.ts'
import { uniqueRunId, uniqueTag } from '../support/unique.ts'

const prefect = inject('prefect')

/**
 * As many small teams run it: one self-hosted server on SQLite, and a
 * workflow that starts two dozen steps at once. A busy SQLite answers 503
 * while it is locked; a create must wait that out, for as long as the step's
 * timeout allows, and still make exactly one run. Every step waits for its run
 * to end, so nothing of this test is left running for the next file (the
 * served flow runs at most 10 at a time).
 */
describe('two dozen steps at once against one real Prefect server', () => {
  it('every step succeeds, with exactly one run each', { timeout: 600_000 }, async () => {
    const STEPS = 24
    const tags = Array.from({ length: STEPS }, () => uniqueTag('load'))
    const started = Date.now()
    const results = await Promise.all(
      tags.map((runTag) =>
        runAction(
          {
            orchestrator: 'prefect',
            url: prefect.apiUrl,
            deployment: 'it-flow/it-deployment',
            tags: runTag,
            'poll-interval': '2s',
            timeout: '8m'
          },
          // Each step its own workflow run, so each has its own idempotency key.
          { GITHUB_RUN_ID: uniqueRunId() }
        )
      )
    )
    const problems: string[] = []
    for (const [i, result] of results.entries()) {
      const runs = await flowRunsTagged(prefect, tags[i])
      if (result.code !== 0) problems.push(`step ${i}: ${explain(result)}`)
      if (runs.length !== 1) problems.push(`step ${i}: ${runs.length} runs on the server`)
      else if (runs[0].id !== result.outputs['run-id'])
        problems.push(`step ${i}: the action followed ${result.outputs['run-id']}, the server holds ${runs[0].id}`)
      // Said once a step, however many attempts it took.
      const retryLines = result.stdout.split('\n').filter((line) => /retrying/i.test(line) && !line.startsWith('::debug::'))
      if (retryLines.length > 2) problems.push(`step ${i}: ${retryLines.length} lines about retries:\n${retryLines.join('\n')}`)
    }
    const retried = results.filter((result) => /retrying/i.test(result.stdout)).length
    console.log(`${STEPS} steps at once: ${((Date.now() - started) / 1000).toFixed(0)} s, ${retried} of them met a transient answer`)
    expect(problems).toEqual([])
  })
})
