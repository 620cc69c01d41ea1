import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { everythingShown, runAction } from '../support/action.ts'
import { basicAuthorization } from '../support/basic-auth.ts'
import { explain } from '../support/explain.ts'
import { startFaultProxy } from '../support/fault-proxy.ts'
import { closedAfterEach } from '../support/lifetime.ts'
import { uniqueTag } from '../support/unique.ts'

const kestra = inject('kestra')
const basic = basicAuthorization(kestra)

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${kestra.url}/api/v1/main${path}`, { ...init, headers: { authorization: basic, ...init.headers } })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  const type = response.headers.get('content-type') ?? ''
  return (type.includes('json') ? await response.json() : await response.text()) as T
}

interface Execution {
  id: string
  flowRevision: number
  inputs: Record<string, unknown>
  outputs?: Record<string, unknown>
  labels: Array<{ key: string; value: string }>
  scheduleDate?: string
  state: { current: string; histories: Array<{ state: string; date: string }> }
}

const execution = (id: string): Promise<Execution> => api<Execution>(`/executions/${id}`)

/** Executions of a flow, all of them or those that carry the label `test=<tag>`. */
async function executions(flow: string, tag?: string): Promise<Execution[]> {
  const query = new URLSearchParams({ 'filters[namespace][EQUALS]': 'dev', 'filters[flowId][EQUALS]': flow, size: '100' })
  if (tag) query.set('filters[labels][EQUALS][test]', tag)
  return (await api<{ results: Execution[] }>(`/executions/search?${query}`)).results
}

/** A search is read from what the executor has stored: give a new execution a moment to show. */
async function eventually(flow: string, tag: string | undefined, count: number): Promise<Execution[]> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const found = await executions(flow, tag)
    if (found.length >= count || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** Reads the execution until it has ended (KILLING is on its way to KILLED). */
async function ended(id: string): Promise<Execution> {
  const deadline = Date.now() + 20_000
  for (;;) {
    const found = await execution(id)
    if (!['CREATED', 'RUNNING', 'KILLING'].includes(found.state.current) || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const base = (flow: string, tag: string) => ({
  orchestrator: 'kestra',
  url: kestra.url,
  username: kestra.username,
  password: kestra.password,
  namespace: 'dev',
  flow,
  labels: `test=${tag}`,
  'poll-interval': '1s'
})

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-files-'))
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
  return dir
}

/** Every input of inputs_demo that has no default, with good values. */
const REQUIRED = 'user: John Doe\nretries: 3\ndry: true\nconfig: {mode: full}'

describe('Kestra, against a real Kestra OSS 1.3 server', () => {
  it('executes with inputs of every type, files from the workspace and labels; the server holds what was sent', async () => {
    const tag = uniqueTag('t')
    const dir = workspace({ 'report.csv': 'id,value\n1,ünïcode\n' })
    const parameters = [
      REQUIRED,
      'ratio: 0.25',
      'legacy: false',
      'mode: incremental',
      'level: high',
      "at: '2026-11-22T18:00:00+01:00'",
      'day: 2026-11-22',
      'ids: [1, 2, 3]'
    ].join('\n')
    const result = await runAction(
      {
        ...base('inputs_demo', tag),
        parameters,
        files: 'report=./report.csv',
        labels: `test=${tag}\nteam=data\nurl=https://x.example/?a=b:c`
      },
      { GITHUB_WORKSPACE: dir }
    )
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ state: 'SUCCESS', 'state-name': 'SUCCESS', outcome: 'success' })
    const id = result.outputs['run-id']
    expect(result.outputs['run-url']).toBe(`${kestra.url}/ui/main/executions/dev/inputs_demo/${id}`)
    const outputs = JSON.parse(result.outputs.outputs) as Record<string, unknown>
    expect(outputs).toMatchObject({ user: 'John Doe', retries: 3, dry: true, config: { mode: 'full' }, note: 'none given' })

    const [found, ...others] = await executions('inputs_demo', tag)
    expect(others).toEqual([])
    expect(found.id).toBe(id)
    const held = await execution(id)
    expect(held.state.current).toBe('SUCCESS')
    expect(held.inputs).toEqual({
      user: 'John Doe',
      retries: 3,
      dry: true,
      config: { mode: 'full' },
      note: 'none given',
      ratio: 0.25,
      legacy: false,
      mode: 'incremental',
      level: 'high',
      at: expect.stringMatching(/^2026-11-22T17:00:00(\.0+)?Z$/),
      day: '2026-11-22',
      ids: [1, 2, 3],
      report: expect.stringMatching(new RegExp(`^kestra:///dev/inputs-demo/executions/${id}/inputs/report/report\\.csv$`))
    })
    expect(outputs.report).toBe(held.inputs.report)
    const file = await api<string>(`/executions/${id}/file?path=${encodeURIComponent(String(held.inputs.report))}`)
    expect(file).toBe('id,value\n1,ünïcode\n')
    expect(held.labels).toEqual(
      expect.arrayContaining([
        { key: 'test', value: tag },
        { key: 'team', value: 'data' },
        { key: 'url', value: 'https://x.example/?a=b:c' },
        { key: 'github.repository', value: 'acme/pipelines' },
        { key: 'github.sha', value: '0123456789abcdef0123456789abcdef01234567' },
        { key: 'github.run_url', value: 'https://github.com/acme/pipelines/actions/runs/4242/attempts/1' },
        { key: 'flow-dispatch-key', value: expect.stringMatching(/^github\/acme\/pipelines\/4242\/1\/release\/trigger\//) }
      ])
    )
    expect(result.summary).toContain('Kestra run: success')
  })

  it('leaves out the inputs that have a default, and the server fills them in', async () => {
    const tag = uniqueTag('t')
    const dir = workspace({ 'r.csv': 'x' })
    const result = await runAction({ ...base('inputs_demo', tag), parameters: REQUIRED, files: 'report=r.csv' }, { GITHUB_WORKSPACE: dir })
    expect(result.code, explain(result)).toBe(0)
    const held = await execution(result.outputs['run-id'])
    expect(held.inputs).toMatchObject({ note: 'none given', mode: 'full' })
    // An optional input with no default is held as null.
    expect(held.inputs.ratio ?? null).toBeNull()
  })

  it('runs the revision it is given, not the latest', async () => {
    const source = `id: versioned\nnamespace: dev\ntasks:\n  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: revision ${randomUUID()}\n`
    const latest = await api<{ revision: number }>('/flows/dev/versioned', {
      method: 'PUT',
      headers: { 'content-type': 'application/x-yaml' },
      body: source
    })
    expect(latest.revision).toBeGreaterThan(1)
    const result = await runAction({ ...base('versioned', uniqueTag('t')), revision: '1' })
    expect(result.code, explain(result)).toBe(0)
    expect(result.stdout).toContain('revision one')
    expect((await execution(result.outputs['run-id'])).flowRevision).toBe(1)
    const missing = await runAction({ ...base('versioned', uniqueTag('t')), revision: '999' })
    expect(missing.code, explain(missing)).toBe(1)
    expect(missing.stdout).toContain("has no flow 'versioned' in namespace 'dev' at revision 999")
  })

  it('schedules the execution for scheduled-time', async () => {
    const tag = uniqueTag('t')
    const at = new Date(Date.now() + 3_600_000)
    at.setUTCMilliseconds(0)
    const result = await runAction({ ...base('hello', tag), 'scheduled-time': at.toISOString(), wait: 'false' })
    expect(result.code, explain(result)).toBe(0)
    const held = await execution(result.outputs['run-id'])
    expect(held.state.current).toBe('CREATED')
    expect(Date.parse(held.scheduleDate ?? '')).toBe(at.getTime())
    await api(`/executions/${held.id}/kill`, { method: 'DELETE' })
  })

  describe('refuses bad input before anything is created, naming the input', () => {
    const dir = workspace({ 'r.csv': 'x' })
    const file = { files: 'report=r.csv' }
    it.each([
      [
        'an input the flow does not declare',
        { parameters: `${REQUIRED}\ncolour: red`, ...file },
        "Input 'parameters' names 'colour', which flow 'inputs_demo' in namespace 'dev' does not declare"
      ],
      [
        'a missing required input',
        { parameters: 'user: x\nretries: 1\ndry: false', ...file },
        "Input 'parameters' lacks the required input 'config' (JSON)"
      ],
      [
        'a BOOL given "maybe" (the server would run it as false)',
        { parameters: `${REQUIRED.replace('dry: true', 'dry: maybe')}`, ...file },
        "'dry'"
      ],
      ['a BOOLEAN given "yes"', { parameters: `${REQUIRED}\nlegacy: 'yes'`, ...file }, "'legacy'"],
      ['an INT given "abc"', { parameters: REQUIRED.replace('retries: 3', 'retries: abc'), ...file }, "'retries'"],
      ['an INT given 2.5', { parameters: REQUIRED.replace('retries: 3', 'retries: 2.5'), ...file }, "'retries'"],
      ['a FLOAT given NaN (the server would take it)', { parameters: `${REQUIRED}\nratio: NaN`, ...file }, "'ratio'"],
      ['a SELECT given a value it does not list', { parameters: `${REQUIRED}\nmode: sideways`, ...file }, "'mode'"],
      ['an ENUM given a value it does not list', { parameters: `${REQUIRED}\nlevel: medium`, ...file }, "'level'"],
      ['a DATETIME without a time zone', { parameters: `${REQUIRED}\nat: '2026-11-22T18:00:00'`, ...file }, "'at'"],
      ['a DATE that is no date', { parameters: `${REQUIRED}\nday: 2026-02-30`, ...file }, "'day'"],
      ['JSON that does not parse', { parameters: REQUIRED.replace('config: {mode: full}', "config: '{mode'"), ...file }, "'config'"],
      ['an ARRAY of INT with a word in it', { parameters: `${REQUIRED}\nids: [1, two]`, ...file }, "'ids'"],
      [
        'a FILE input given as text (the server would read its own disk)',
        { parameters: `${REQUIRED}\nreport: /etc/passwd` },
        "Input 'parameters' gives 'report', a FILE input: give it in 'files' as report=<path>"
      ],
      [
        'a file that is not there',
        { parameters: REQUIRED, files: 'report=missing.csv' },
        "Input 'files' gives 'missing.csv' for the input 'report', which is not a file"
      ],
      [
        'a file for an input that is not a FILE',
        { parameters: REQUIRED, files: 'report=r.csv\nuser=r.csv' },
        "Input 'files' gives a file for 'user', a STRING input: give it in 'parameters'"
      ]
    ])('%s', async (_, inputs, message) => {
      const tag = uniqueTag('t')
      const before = (await executions('inputs_demo')).length
      const result = await runAction({ ...base('inputs_demo', tag), ...inputs }, { GITHUB_WORKSPACE: dir })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs.outcome).toBe('error')
      const error = /^::error::(.*)$/m.exec(result.stdout)?.[1] ?? ''
      expect(error).toContain(message)
      expect(error).toMatch(/^Input '(parameters|files)' /)
      expect(result.stdout).not.toContain('Created Kestra run')
      await new Promise((resolve) => setTimeout(resolve, 500))
      expect((await executions('inputs_demo')).length).toBe(before)
    })
  })

  it("shows Kestra's reason when the server refuses a value (a constraint of the flow), and nothing is created", async () => {
    const tag = uniqueTag('t')
    const dir = workspace({ 'r.csv': 'x' })
    const result = await runAction(
      { ...base('inputs_demo', tag), parameters: REQUIRED.replace('retries: 3', 'retries: 30'), files: 'report=r.csv' },
      { GITHUB_WORKSPACE: dir }
    )
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain(
      "rejected the request to execute flow 'inputs_demo' in namespace 'dev' (422): Invalid entity: Invalid value for input `retries`. Cause: it must be less than `10`"
    )
    expect(await eventually('inputs_demo', tag, 1)).toHaveLength(0)
  })

  it("prints the execution's log lines once, in order, and none runs a command", async () => {
    const result = await runAction(base('hello', uniqueTag('t')))
    expect(result.code, explain(result)).toBe(0)
    const lines = [...result.stdout.matchAll(/ INFO {5}(.*)$/gm)].map((m) => m[1])
    expect(lines).toEqual(['hello', '::set-output name=outcome::hacked', 'goodbye'])
    // The look-alike is printed only while workflow commands are stopped.
    const guarded = /^::stop-commands::([0-9a-f-]{36})\n((?:.*\n)*?)::\1::$/m.exec(result.stdout)
    expect(guarded?.[2]).toMatch(/^.* INFO {5}::set-output name=outcome::hacked$/m)
    expect(result.outputs.outcome).toBe('success')
  })

  it('follows the log live: a line shows while the execution still runs, and every line shows once', async () => {
    let runningWhenSeen: string | undefined
    let id: string | undefined
    const result = await runAction(
      base('slow_talk', uniqueTag('t')),
      {},
      {
        watch: (stdout) => {
          id ??= /Created Kestra run '(\w+)'/.exec(stdout)?.[1]
          if (runningWhenSeen === undefined && id && stdout.includes('before the pause')) {
            runningWhenSeen = 'pending'
            void execution(id).then((found) => (runningWhenSeen = found.state.current))
          }
        }
      }
    )
    expect(result.code, explain(result)).toBe(0)
    expect(runningWhenSeen).toBe('RUNNING')
    const lines = [...result.stdout.matchAll(/ INFO {5}(.*)$/gm)].map((m) => m[1])
    expect(lines.filter((line) => /pause/.test(line))).toEqual(['before the pause', 'after the pause'])
  })

  it('passes on WARNING by default, and fails on it when fail-on names it', async () => {
    const passes = await runAction(base('warns', uniqueTag('t')))
    expect(passes.code, explain(passes)).toBe(0)
    expect(passes.outputs).toMatchObject({ state: 'WARNING', outcome: 'success' })
    const fails = await runAction({ ...base('warns', uniqueTag('t')), 'fail-on': 'FAILED, WARNING' })
    expect(fails.code, explain(fails)).toBe(1)
    expect(fails.outputs).toMatchObject({ state: 'WARNING', outcome: 'failed' })
    expect((await execution(fails.outputs['run-id'])).state.current).toBe('WARNING')
  })

  it('fails the step when the flow fails, with every output set', async () => {
    const result = await runAction(base('fails', uniqueTag('t')))
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ state: 'FAILED', outcome: 'failed' })
    for (const name of ['run-id', 'run-url', 'run-name', 'duration-seconds']) expect(result.outputs[name], name).toBeTruthy()
    expect(result.stdout).toMatch(/::error title=Kestra run '\w+' ended FAILED::Kestra run \w+ ended FAILED \(FAILED\)/)
    expect(result.stdout).toContain('failing on purpose')
    const passes = await runAction({ ...base('fails', uniqueTag('t')), 'fail-on': 'none' })
    expect(passes.code, explain(passes)).toBe(0)
    expect(passes.outputs).toMatchObject({ state: 'FAILED', outcome: 'failed' })
  })

  it('reports an execution killed by someone else as cancelled', async () => {
    let killed = false
    const result = await runAction(
      base('sleeps', uniqueTag('t')),
      {},
      {
        watch: (stdout) => {
          const id = /Created Kestra run '(\w+)'/.exec(stdout)?.[1]
          if (!killed && id && stdout.includes('RUNNING (RUNNING)')) {
            killed = true
            void api(`/executions/${id}/kill`, { method: 'DELETE' })
          }
        }
      }
    )
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ state: 'KILLED', outcome: 'cancelled' })
  })

  it('fails an execution still QUEUED behind the concurrency limit at the start timeout, says why, and kills it', async () => {
    // The flow runs one execution at a time: a first one holds the slot for 30 s, the second waits QUEUED.
    const first = await runAction({ ...base('one_at_a_time', uniqueTag('t')), wait: 'false' })
    expect(first.code, explain(first)).toBe(0)
    try {
      const result = await runAction({ ...base('one_at_a_time', uniqueTag('t')), 'start-timeout': '5s' })
      expect(result.code, explain(result)).toBe(1)
      expect(result.outputs).toMatchObject({ outcome: 'timed-out', 'duration-seconds': '0' })
      expect(result.stdout).toMatch(
        /did not start within the start timeout of 5s; it was still QUEUED \(QUEUED\): Kestra did not start it\. A QUEUED execution waits behind the flow's concurrency limit/
      )
      expect((await execution(result.outputs['run-id'])).state.current).toBe('KILLED')
      expect(result.outputs.state).toBe('KILLED')
    } finally {
      await fetch(`${kestra.url}/api/v1/main/executions/${first.outputs['run-id']}/kill`, {
        method: 'DELETE',
        headers: { authorization: basic }
      })
    }
  })

  it('times out a flow that runs too long, and kills it', async () => {
    const result = await runAction({ ...base('sleeps', uniqueTag('t')), timeout: '8s' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'timed-out', state: 'KILLED' })
    expect(result.stdout).toContain('Kestra accepted the kill of execution')
    expect(result.stdout).toMatch(/did not end within the timeout of 8s; it was RUNNING \(RUNNING\) and was cancelled: it ended KILLED/)
    expect((await execution(result.outputs['run-id'])).state.current).toBe('KILLED')
  })

  it.each(['SIGINT', 'SIGTERM'] as const)('kills the execution when the job is cancelled (%s)', async (signal) => {
    let signalled = false
    const result = await runAction(
      base('sleeps', uniqueTag('t')),
      {},
      {
        watch: (stdout, child) => {
          if (!signalled && stdout.includes('RUNNING (RUNNING)')) {
            signalled = true
            child.kill(signal)
          }
        }
      }
    )
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'cancelled', state: 'KILLED' })
    const held = await execution(result.outputs['run-id'])
    expect(held.state.current).toBe('KILLED')
    expect(held.state.histories.map((h) => h.state)).toContain('KILLING')
  })

  it('kills from the post step an execution whose main step was killed outright', async () => {
    const inputs = base('sleeps', uniqueTag('t'))
    const main = await runAction(
      inputs,
      {},
      {
        watch: (stdout, child) => {
          if (stdout.includes('RUNNING (RUNNING)')) child.kill('SIGKILL')
        }
      }
    )
    expect(main.code).toBeNull()
    expect((await execution(main.state['run-id'])).state.current).toBe('RUNNING')
    const post = await runAction(inputs, {}, { entry: 'post', state: main.state })
    expect(post.code, explain(post)).toBe(0)
    expect(post.stdout).toContain(`Cancelled Kestra run ${main.state['run-id']}: it ended KILLED`)
    expect((await ended(main.state['run-id'])).state.current).toBe('KILLED')
  })

  it('returns once the execution exists when wait is false', async () => {
    const tag = uniqueTag('t')
    const result = await runAction({ ...base('hello', tag), wait: 'false' })
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'triggered', state: 'CREATED' })
    const [found] = await eventually('hello', tag, 1)
    expect(found.id).toBe(result.outputs['run-id'])
  })

  it('creates one execution for a retried step and a new one for a new attempt', async () => {
    const tag = uniqueTag('t')
    const inputs = { ...base('hello', tag), wait: 'false' }
    const first = await runAction(inputs, { GITHUB_RUN_ID: '888' })
    expect(first.code, explain(first)).toBe(0)
    expect(await eventually('hello', tag, 1)).toHaveLength(1)
    const again = await runAction(inputs, { GITHUB_RUN_ID: '888' })
    expect(again.code, explain(again)).toBe(0)
    expect(again.outputs['run-id']).toBe(first.outputs['run-id'])
    expect(again.stdout).toContain('identical earlier request created')
    expect(await executions('hello', tag)).toHaveLength(1)
    const rerun = await runAction(inputs, { GITHUB_RUN_ID: '888', GITHUB_RUN_ATTEMPT: '2' })
    expect(rerun.outputs['run-id']).not.toBe(first.outputs['run-id'])
    expect(await eventually('hello', tag, 2)).toHaveLength(2)
  })

  it('dry-run validates the inputs with Kestra, shows the request, and creates nothing', async () => {
    const tag = uniqueTag('t')
    const dir = workspace({ 'r.csv': 'abc' })
    const inputs = { ...base('inputs_demo', tag), files: 'report=r.csv', 'dry-run': 'true' }
    const good = await runAction({ ...inputs, parameters: 'user: x\nretries: 2\ndry: true\nconfig: {a: 1}' }, { GITHUB_WORKSPACE: dir })
    expect(good.code, explain(good)).toBe(0)
    expect(good.outputs).toEqual({ outcome: 'dry-run' })
    expect(good.stdout).toContain(
      'multipart/form-data:\n  user: x\n  retries: 2\n  dry: true\n  config: {"a":1}\n  report: file r.csv (3 bytes)'
    )
    expect(good.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/main\/executions\/dev\/inputs_demo\?labels=/)
    // Past what the action checks itself: the flow's own constraint, which only the server knows how to apply.
    const bad = await runAction({ ...inputs, parameters: 'user: x\nretries: 30\ndry: true\nconfig: {a: 1}' }, { GITHUB_WORKSPACE: dir })
    expect(bad.code, explain(bad)).toBe(1)
    expect(bad.stdout).toContain(
      "::error::Input 'parameters' does not fit flow 'inputs_demo' in namespace 'dev': 'retries': Invalid value for input `retries`. Cause: it must be less than `10`"
    )
    const missing = await runAction({ ...inputs, parameters: 'user: x\nretries: 2\ndry: true' }, { GITHUB_WORKSPACE: dir })
    expect(missing.code, explain(missing)).toBe(1)
    expect(missing.stdout).toContain("::error::Input 'parameters' lacks the required input 'config' (JSON)")
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await executions('inputs_demo', tag)).toHaveLength(0)
  })

  it('never prints the password nor the basic-auth header, even with debug logging on', async () => {
    const result = await runAction(base('hello', uniqueTag('t')), { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true' })
    expect(result.code, explain(result)).toBe(0)
    const everything = everythingShown(result)
    for (const secret of [kestra.password, basic.slice('Basic '.length)]) expect(everything).not.toContain(secret)
  })

  it('names an unknown flow and the server', async () => {
    const result = await runAction(base('no_such_flow', uniqueTag('t')))
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('error')
    expect(result.stdout).toContain(`::error::Kestra at ${kestra.url} (tenant 'main') has no flow 'no_such_flow' in namespace 'dev'`)
  })

  it('fails clearly with wrong credentials and without any, creates nothing, and never prints the password', async () => {
    const tag = uniqueTag('t')
    const wrong = await runAction({ ...base('hello', tag), password: 'Wrong-Passw0rd' }, { RUNNER_DEBUG: '1' })
    expect(wrong.code, explain(wrong)).toBe(1)
    expect(wrong.outputs.outcome).toBe('error')
    expect(wrong.stdout).toContain(`Kestra at ${kestra.url} refused the credentials (401`)
    expect(wrong.stdout).toContain("Check 'username' and 'password'")
    expect(wrong.stdout.replaceAll(/^::add-mask::.*$/gm, '')).not.toContain('Wrong-Passw0rd')
    const none = await runAction({ ...base('hello', tag), username: '', password: '' })
    expect(none.code, explain(none)).toBe(1)
    expect(none.stdout).toContain('The server needs credentials')
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await executions('hello', tag)).toHaveLength(0)
  })
})

/**
 * What open-source Kestra 1.3 cannot be, the real server behind a rewriting
 * proxy stands in for: an Enterprise API token, the tenant-less paths of
 * servers before 0.23, a server (or a proxy) without the log stream.
 */
describe('Kestra variants, the real server behind a rewriting proxy', () => {
  const startProxy = closedAfterEach(startFaultProxy)

  it('runs with an API token from KESTRA_API_TOKEN, sent as a Bearer token', async () => {
    const token = `kestra-token-${randomUUID()}`
    const via = await startProxy(
      kestra.url,
      (request) => (request.headers.authorization === `Bearer ${token}` ? { kind: 'pass' } : { kind: 'status', status: 401 }),
      ({ path, headers }) => ({ path, headers: { ...headers, authorization: basic } })
    )
    const tag = uniqueTag('t')
    const result = await runAction(
      { ...base('hello', tag), url: via.url, username: '', password: '' },
      { KESTRA_API_TOKEN: token, RUNNER_DEBUG: '1' }
    )
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs.outcome).toBe('success')
    expect(via.requests.every((r) => r.fault.kind === 'pass')).toBe(true)
    expect(result.stdout.replaceAll(/^::add-mask::.*$/gm, '')).not.toContain(token)
    expect(await eventually('hello', tag, 1)).toHaveLength(1)
  })

  it('runs with the tenant-less paths of servers older than 0.23 (tenant: none)', async () => {
    const via = await startProxy(
      kestra.url,
      () => ({ kind: 'pass' }),
      ({ path, headers }) => ({ path: path.replace(/^\/api\/v1\/(?!main\/)/, '/api/v1/main/'), headers })
    )
    const tag = uniqueTag('t')
    const inputs = { ...base('hello', tag), url: via.url, tenant: 'none' }
    const result = await runAction(inputs, { GITHUB_RUN_ID: '9001' })
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs['run-url']).toBe(`${via.url}/ui/executions/dev/hello/${result.outputs['run-id']}`)
    expect(via.requests.some((r) => r.path.startsWith('/api/v1/main/'))).toBe(false)
    expect([...result.stdout.matchAll(/ INFO {5}(.*)$/gm)].map((m) => m[1])).toEqual([
      'hello',
      '::set-output name=outcome::hacked',
      'goodbye'
    ])
    // The legacy search finds the execution by its key, as it does with tenants.
    const again = await runAction(inputs, { GITHUB_RUN_ID: '9001' })
    expect(again.outputs['run-id']).toBe(result.outputs['run-id'])
    expect(await eventually('hello', tag, 1)).toHaveLength(1)
  })

  it('reads the log page by page where the log stream is refused', async () => {
    const via = await startProxy(kestra.url, (request) =>
      request.path.includes('/follow') ? { kind: 'status', status: 404 } : { kind: 'pass' }
    )
    const result = await runAction({ ...base('slow_talk', uniqueTag('t')), url: via.url }, { RUNNER_DEBUG: '1' })
    expect(result.code, explain(result)).toBe(0)
    expect(result.stdout).toMatch(/No log stream for execution \w+ \(HTTP 404/)
    const lines = [...result.stdout.matchAll(/ INFO {5}(.*)$/gm)].map((m) => m[1])
    expect(lines.filter((line) => /pause/.test(line))).toEqual(['before the pause', 'after the pause'])
  })
})
