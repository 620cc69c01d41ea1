import { createHash, randomUUID } from 'node:crypto'

type GitHubContext = typeof import('@actions/github')['context']

/** Where a run was triggered from, so the orchestrator's user can find the CI run. */
export interface Origin {
  /** The CI system, as the prefix of labels and keys; undefined outside one we know. */
  ci?: 'github' | 'gitlab' | 'jenkins'
  repository?: string
  /** The commit under test: on GitHub, the pull request's head, not the merge commit it checks out. */
  sha?: string
  /** The CI run's (or job's) page. */
  runUrl?: string
  /**
   * What is the same for every retry of this step's request and different for
   * a new attempt of the job, another step or another job; undefined where
   * the CI system gives nothing that stable.
   */
  attempt?: string
}

/**
 * Read once the inputs are good: `@actions/github` brings Octokit, which a
 * step that stops at a bad input, or a command outside GitHub, never loads.
 */
export async function getOrigin(): Promise<Origin> {
  const env = process.env
  if (env.GITHUB_REPOSITORY) {
    // In the bundle, not a chunk of its own: bundled alike, it is only evaluated here.
    const { context } = await import(/* webpackMode: "eager" */ '@actions/github')
    return githubOrigin(env.GITHUB_REPOSITORY, context)
  }
  // A retried GitLab job gets a new job id, a rebuilt Jenkins job a new build number: a new attempt, as on GitHub.
  if (env.GITLAB_CI && env.CI_PROJECT_PATH) {
    return {
      ci: 'gitlab',
      repository: env.CI_PROJECT_PATH,
      sha: env.CI_COMMIT_SHA,
      runUrl: env.CI_JOB_URL,
      attempt: env.CI_JOB_ID && `${env.CI_PROJECT_PATH}/${env.CI_JOB_ID}`
    }
  }
  if (env.JENKINS_URL && env.JOB_NAME) {
    return {
      ci: 'jenkins',
      repository: env.JOB_NAME,
      sha: env.GIT_COMMIT,
      runUrl: env.BUILD_URL,
      attempt: env.BUILD_NUMBER && `${env.JOB_NAME}/${env.BUILD_NUMBER}`
    }
  }
  return {}
}

function githubOrigin(repository: string, context: GitHubContext): Origin {
  const pullHead = (context.payload.pull_request as { head?: { sha?: string } } | undefined)?.head?.sha
  const runId = context.runId || undefined
  const runAttempt = context.runAttempt || 1
  return {
    ci: 'github',
    repository,
    sha: pullHead || context.sha || undefined,
    runUrl: runId ? `${context.serverUrl}/${repository}/actions/runs/${runId}/attempts/${runAttempt}` : undefined,
    attempt: runId ? `${repository}/${runId}/${runAttempt}/${context.job}/${process.env.GITHUB_ACTION ?? ''}` : undefined
  }
}

/** Labels that lead from the run back to the CI run: `github.repository`, `github.sha`, `github.run_url`. */
export function originLabels(origin: Origin): Record<string, string> {
  const { ci, repository, sha, runUrl } = origin
  if (!ci) return {}
  return {
    ...(repository && { [`${ci}.repository`]: repository }),
    ...(sha && { [`${ci}.sha`]: sha }),
    ...(runUrl && { [`${ci}.run_url`]: runUrl })
  }
}

/**
 * A key that is the same for every retry of this step's request and different
 * for a new attempt ("Re-run jobs"), another step, another job, or another
 * request. The request's hash keeps matrix legs apart, which share a job id.
 * Where there is nothing stable to derive from, the key is random: still
 * enough to make our own HTTP retries safe.
 */
export function deriveIdempotencyKey(origin: Origin, target: string, request: unknown): string {
  if (!origin.ci || !origin.attempt) return `flow-dispatch/${randomUUID()}`
  const hash = createHash('sha256')
    .update(JSON.stringify([target, request, process.env.RUNNER_NAME ?? '']))
    .digest('hex')
    .slice(0, 16)
  return `${origin.ci}/${origin.attempt}/${hash}`
}
