import { describe, expect, it } from 'vitest'
import { deriveIdempotencyKey, getOrigin, originLabels } from '../../src/origin.js'
import { useActionEnvironment } from '../support/env.ts'

useActionEnvironment()

describe('where a run comes from, outside GitHub', () => {
  it('names the GitLab job, and keys the request to it', async () => {
    Object.assign(process.env, {
      GITLAB_CI: 'true',
      CI_PROJECT_PATH: 'acme/etl',
      CI_COMMIT_SHA: 'abc',
      CI_JOB_URL: 'https://gitlab.example.com/acme/etl/-/jobs/9',
      CI_JOB_ID: '9'
    })
    const origin = await getOrigin()
    expect(originLabels(origin)).toEqual({
      'gitlab.repository': 'acme/etl',
      'gitlab.sha': 'abc',
      'gitlab.run_url': 'https://gitlab.example.com/acme/etl/-/jobs/9'
    })
    const key = deriveIdempotencyKey(origin, 'deployment-id', { parameters: { a: 1 } })
    expect(key).toMatch(/^gitlab\/acme\/etl\/9\/[0-9a-f]{16}$/)
    expect(deriveIdempotencyKey(origin, 'deployment-id', { parameters: { a: 1 } })).toBe(key)
    expect(deriveIdempotencyKey(origin, 'deployment-id', { parameters: { a: 2 } })).not.toBe(key)
    // A retried job is a new job id: a new run.
    process.env.CI_JOB_ID = '10'
    expect(deriveIdempotencyKey(await getOrigin(), 'deployment-id', { parameters: { a: 1 } })).not.toBe(key)
  })

  it('names the Jenkins build, and keys the request to it', async () => {
    Object.assign(process.env, {
      JENKINS_URL: 'https://ci.example.com/',
      JOB_NAME: 'etl/main',
      BUILD_NUMBER: '41',
      BUILD_URL: 'https://ci.example.com/job/etl/41/',
      GIT_COMMIT: 'def'
    })
    const origin = await getOrigin()
    expect(originLabels(origin)).toEqual({
      'jenkins.repository': 'etl/main',
      'jenkins.sha': 'def',
      'jenkins.run_url': 'https://ci.example.com/job/etl/41/'
    })
    expect(deriveIdempotencyKey(origin, 't', {})).toMatch(/^jenkins\/etl\/main\/41\/[0-9a-f]{16}$/)
  })

  it('has no labels and a random key elsewhere', async () => {
    for (const name of ['GITLAB_CI', 'JENKINS_URL']) delete process.env[name]
    const origin = await getOrigin()
    expect(originLabels(origin)).toEqual({})
    expect(deriveIdempotencyKey(origin, 't', {})).not.toBe(deriveIdempotencyKey(origin, 't', {}))
  })
})
