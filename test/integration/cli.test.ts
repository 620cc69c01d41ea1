import { once } from 'node:events'
import { createServer } from 'node:net'
import { describe, expect, inject, it } from 'vitest'
import { GITHUB_ENV, runCli } from '../support/action.ts'
import { basicAuthorization } from '../support/basic-auth.ts'
import { explain } from '../support/explain.ts'
import { type FlowRun, flowRunsTagged, prefectApi } from '../support/prefect-api.ts'
import { uniqueTag } from '../support/unique.ts'

const open = inject('prefect')
const locked = inject('prefectWithAuth')
const kestra = inject('kestra')

const prefect = (tag: string, ...args: string[]): string[] => [
  'prefect',
  '--url',
  open.apiUrl,
  '--deployment',
  'it-flow/it-deployment',
  '--tag',
  tag,
  '--poll-interval',
  '2s',
  ...args
]

/** What GitLab sets for a job, the parts the command reads. */
const GITLAB_ENV = {
  GITLAB_CI: 'true',
  CI_PROJECT_PATH: 'acme/etl',
  CI_COMMIT_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
  CI_JOB_URL: 'https://gitlab.example.com/acme/etl/-/jobs/7001',
  CI_JOB_ID: '7001'
}

describe('the command (dist/cli), against the real Prefect and Kestra servers', () => {
  it('runs a deployment from a GitLab job: typed --param values, labels back to the job, the outputs as JSON on stdout', async () => {
    const tag = uniqueTag('cli')
    const result = await runCli(
      prefect(tag, '--param', 'message="2026-11-22"', '--param', 'count=3', '--label', 'team=data', '--json'),
      GITLAB_ENV
    )
    expect(result.code, explain(result)).toBe(0)
    const outputs = JSON.parse(result.stdout) as Record<string, unknown>
    expect(outputs).toMatchObject({ outcome: 'success', state: 'COMPLETED', 'state-name': 'Completed', 'exit-code': 0 })
    // The log goes to stderr, in a collapsible GitLab section.
    expect(result.stderr).toContain(`Created Prefect run '${String(outputs['run-name'])}'`)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: GitLab's section markers are escape sequences
    expect(result.stderr).toMatch(/\x1b\[0Ksection_start:\d+:flow_dispatch_\d+\[collapsed=false\]\r\x1b\[0KPrefect run/)
    expect(result.stderr).toMatch(/INFO {5}message='2026-11-22' count=3 outcome='succeed'/)
    const [run, ...others] = await flowRunsTagged(open, tag)
    expect(others).toEqual([])
    expect(run.id).toBe(outputs['run-id'])
    expect(run.parameters).toEqual({ message: '2026-11-22', count: 3 })
    expect(run.labels).toMatchObject({
      team: 'data',
      'gitlab.repository': 'acme/etl',
      'gitlab.sha': GITLAB_ENV.CI_COMMIT_SHA,
      'gitlab.run_url': GITLAB_ENV.CI_JOB_URL
    })
    expect(run.tags).toEqual(expect.arrayContaining(['gitlab:acme/etl', tag]))
    expect(run.idempotency_key).toMatch(/^gitlab\/acme\/etl\/7001\/[0-9a-f]{16}$/)
  })

  it('exits 1 when the run fails, with the outputs it knows', async () => {
    const result = await runCli(prefect(uniqueTag('cli'), '--param', 'outcome=fail', '--json'))
    expect(result.code, explain(result)).toBe(1)
    expect(JSON.parse(result.stdout)).toMatchObject({
      outcome: 'failed',
      state: 'FAILED',
      'exit-code': 1,
      'run-id': expect.any(String),
      'run-url': expect.any(String)
    })
    expect(result.stderr).toMatch(/^error: Prefect run '[\w-]+' ended FAILED: Prefect run [0-9a-f-]{36} ended FAILED/m)
  })

  it("inside a GitHub step, runs no workflow command from a failed run's exception message, the error line included", async () => {
    const message = 'boom\\n::set-output name=outcome::success\\n::add-mask::x\\n##[set-output name=state;]HACKED'
    const result = await runCli(prefect(uniqueTag('cli'), '--param', 'outcome=fail', '--param', `message="${message}"`), GITHUB_ENV)
    expect(result.code, explain(result)).toBe(1)
    // The message arrives, as text, inside stop-commands blocks: in the state change and in the final error line.
    const block = /^::stop-commands::([0-9a-f-]{36})\n([\s\S]*?)^::\1::$/gm
    const guarded = [...result.stdout.matchAll(block)].map((m) => m[2]).join('\n')
    expect(guarded).toMatch(
      /^error: Prefect run '[\w-]+' ended FAILED: .*failing on purpose: boom\n::set-output name=outcome::success\n::add-mask::x\n##\[set-output/m
    )
    for (const stream of [result.stdout, result.stderr]) expect(stream.replace(block, '')).not.toMatch(/^\s*::|##\[/m)
    expect(result.stdout).toMatch(/^outcome: failed \(exit code 1\)$/m)
  })

  it('exits 3 on a timeout, after cancelling the run', async () => {
    const result = await runCli(prefect(uniqueTag('cli'), '--param', 'sleep_seconds=60', '--timeout', '8s', '--json'))
    expect(result.code, explain(result)).toBe(3)
    const outputs = JSON.parse(result.stdout) as Record<string, string>
    expect(outputs).toMatchObject({ outcome: 'timed-out', state: 'CANCELLED', 'exit-code': 3 })
    expect((await prefectApi<FlowRun>(open, 'GET', `/flow_runs/${outputs['run-id']}`)).state_type).toBe('CANCELLED')
  })

  it('exits 2 on bad input before any request, and creates nothing', async () => {
    const tag = uniqueTag('cli')
    const result = await runCli(prefect(tag, '--param', 'count', '--json'))
    expect(result.code, explain(result)).toBe(2)
    expect(result.stderr).toBe("error: --param must be name=value; got 'count'\n")
    // With --json, stdout is the result document whatever went wrong.
    expect(JSON.parse(result.stdout)).toEqual({ outcome: 'error', error: "--param must be name=value; got 'count'", 'exit-code': 2 })
    const wrongName = await runCli(prefect(tag, '--param', 'colour=red'))
    expect(wrongName.code, explain(wrongName)).toBe(2)
    expect(wrongName.stdout).toMatch(/error: --parameters names 'colour', which deployment 'it-flow\/it-deployment' does not take/)
    expect(await flowRunsTagged(open, tag)).toEqual([])
  })

  it('exits 4 when the orchestrator cannot be reached', async () => {
    const server = createServer().listen(0, '127.0.0.1')
    await once(server, 'listening')
    const { port } = server.address() as { port: number }
    server.close()
    const result = await runCli(['prefect', '--url', `http://127.0.0.1:${port}/api`, '--deployment', 'it-flow/it-deployment', '--json'])
    expect(result.code, explain(result)).toBe(4)
    expect(JSON.parse(result.stdout)).toEqual({ outcome: 'error', error: expect.stringContaining(`127.0.0.1:${port}`), 'exit-code': 4 })
  })

  it('never shows the password nor the basic-auth value, even with --verbose', async () => {
    const [username, password] = (locked.authString ?? '').split(':')
    const result = await runCli([
      'prefect',
      '--url',
      locked.apiUrl,
      '--deployment',
      'it-flow/it-deployment',
      '--username',
      username,
      '--password',
      password,
      '--verbose',
      '--param',
      'message=hi'
    ])
    expect(result.code, explain(result)).toBe(0)
    const all = result.stdout + result.stderr
    expect(all).toContain('debug: ')
    for (const secret of [password, basicAuthorization(locked.authString ?? '').slice('Basic '.length), locked.authString ?? ''])
      expect(all).not.toContain(secret)
  })

  it('runs a Kestra flow, printing its log as plain text, where a workflow command is only text', async () => {
    const result = await runCli(['kestra', '--url', kestra.url, '--namespace', 'dev', '--flow', 'hello', '--poll-interval', '1s'], {
      KESTRA_USERNAME: kestra.username,
      KESTRA_PASSWORD: kestra.password
    })
    expect(result.code, explain(result)).toBe(0)
    expect([...result.stdout.matchAll(/ INFO {5}(.*)$/gm)].map((m) => m[1])).toEqual([
      'hello',
      '::set-output name=outcome::hacked',
      'goodbye'
    ])
    expect(result.stdout).not.toContain('::stop-commands::')
    expect(result.stdout).toMatch(/^outcome: success \(exit code 0\)$/m)
    expect(result.stdout).not.toContain(kestra.password)
  })
})
