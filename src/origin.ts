import * as github from '@actions/github'
import { createHash, randomUUID } from 'node:crypto'

/** Where a run was triggered from, so the orchestrator's user can find the GitHub run. */
export interface Origin {
  repository?: string
  /** The commit under test: the pull request's head, not the merge commit GitHub checks out. */
  sha?: string
  runUrl?: string
  runId?: number
  runAttempt?: number
  job?: string
  /** The step's id (GITHUB_ACTION), unique within a job. */
  step?: string
}

export function getOrigin(): Origin {
  const { context } = github
  const repository = process.env.GITHUB_REPOSITORY || undefined
  const pullHead = (context.payload.pull_request as { head?: { sha?: string } } | undefined)?.head?.sha
  const runId = context.runId || undefined
  const runAttempt = context.runAttempt || undefined
  return {
    repository,
    sha: pullHead || context.sha || undefined,
    runUrl:
      repository && runId
        ? `${context.serverUrl}/${repository}/actions/runs/${runId}${runAttempt ? `/attempts/${runAttempt}` : ''}`
        : undefined,
    runId,
    runAttempt,
    job: context.job || undefined,
    step: process.env.GITHUB_ACTION || undefined
  }
}

/**
 * A key that is the same for every retry of this step's request and different
 * for a new attempt ("Re-run jobs"), another step, another job, or another
 * request. The request's hash keeps matrix legs apart, which share a job id.
 * Outside GitHub Actions there is nothing stable to derive from, so the key is
 * random: still enough to make our own HTTP retries safe.
 */
export function deriveIdempotencyKey(origin: Origin, target: string, request: unknown): string {
  const { repository, runId, runAttempt, job, step } = origin
  if (!repository || !runId) return `flow-dispatch/${randomUUID()}`
  const hash = createHash('sha256')
    .update(JSON.stringify([target, request, process.env.RUNNER_NAME ?? '']))
    .digest('hex')
    .slice(0, 16)
  return `github/${repository}/${runId}/${runAttempt ?? 1}/${job ?? ''}/${step ?? ''}/${hash}`
}
