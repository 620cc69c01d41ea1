import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { type ActionResult, runAction } from '../support/action.ts'

const kestra = inject('kestra')
const basic = `Basic ${Buffer.from(`${kestra.username}:${kestra.password}`).toString('base64')}`

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(`${kestra.url}/api/v1/main${path}`, { ...init, headers: { authorization: basic, ...init.headers } })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  const type = response.headers.get('content-type') ?? ''
  return (type.includes('json') ? await response.json() : await response.text()) as T
}

interface Execution {
  id: string
  inputs: Record<string, unknown>
  labels: Array<{ key: string; value: string }>
  state: { current: string }
}

/** Executions of a flow that carry the label `test=<tag>`. */
async function executionsTagged(flow: string, tag: string): Promise<Execution[]> {
  const query = new URLSearchParams({ 'filters[namespace][EQUALS]': 'dev', 'filters[flowId][EQUALS]': flow, 'filters[labels][EQUALS][test]': tag, size: '50' })
  return (await api<{ results: Execution[] }>(`/executions/search?${query}`)).results
}

/** Kestra queues a new execution before it stores it: a search sees it a moment later. */
async function eventuallyTagged(flow: string, tag: string, count: number): Promise<Execution[]> {
  const deadline = Date.now() + 5_000
  for (;;) {
    const found = await executionsTagged(flow, tag)
    if (found.length >= count || Date.now() > deadline) return found
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const uniqueTag = (): string => `t${randomUUID().slice(0, 8)}`
const explain = (result: ActionResult): string => `exit ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`
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

describe('Kestra, against the contract fake', () => {
  it('sends STRING, INT, BOOL and JSON inputs as form fields and a FILE input as a file part, and reads the outputs back', async () => {
    const tag = uniqueTag()
    const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-files-'))
    writeFileSync(join(dir, 'report.csv'), 'id,value\n1,ünïcode\n')
    const result = await runAction(
      { ...base('inputs_demo', tag), parameters: 'user: John Doe\nretries: 3\ndry: true\nconfig: {mode: full}', files: 'report=./report.csv', labels: `test=${tag}\nteam=data\nurl=https://x.example/?a=b:c` },
      { GITHUB_WORKSPACE: dir }
    )
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ state: 'SUCCESS', 'state-name': 'SUCCESS', outcome: 'success' })
    const id = result.outputs['run-id']
    expect(result.outputs['run-url']).toBe(`${kestra.url}/ui/main/executions/dev/inputs_demo/${id}`)
    const outputs = JSON.parse(result.outputs.outputs) as Record<string, unknown>
    expect(outputs).toMatchObject({ user: 'John Doe', retries: 3, dry: true, config: { mode: 'full' }, note: 'none given' })
    expect(outputs.report).toMatch(new RegExp(`^kestra:///dev/inputs_demo/executions/${id}/inputs/report/report.csv$`))

    const [execution, ...others] = await executionsTagged('inputs_demo', tag)
    expect(others).toEqual([])
    expect(execution.id).toBe(id)
    expect(execution.inputs).toMatchObject({ user: 'John Doe', retries: 3, dry: true, config: { mode: 'full' } })
    const file = await api<string>(`/executions/${id}/file?path=${encodeURIComponent(String(outputs.report))}`)
    expect(file).toBe('id,value\n1,ünïcode\n')
    expect(execution.labels).toEqual(
      expect.arrayContaining([
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

  it("prints the execution's log lines once, in order, and none runs a command", async () => {
    const result = await runAction(base('hello', uniqueTag()))
    expect(result.code, explain(result)).toBe(0)
    const lines = [...result.stdout.matchAll(/ INFO {5}(.*)$/gm)].map((m) => m[1])
    expect(lines).toEqual(['hello', '::set-output name=outcome::hacked', 'goodbye'])
    expect(result.stdout).toMatch(/^::stop-commands::[0-9a-f-]{36}\n.* INFO {5}hello\n.* INFO {5}::set-output name=outcome::hacked\n/m)
    expect(result.outputs.outcome).toBe('success')
  })

  it('fails the step when the flow fails, with every output set', async () => {
    const result = await runAction(base('fails', uniqueTag()))
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ state: 'FAILED', outcome: 'failed' })
    for (const name of ['run-id', 'run-url', 'run-name', 'duration-seconds']) expect(result.outputs[name], name).toBeTruthy()
    expect(result.stdout).toMatch(/::error title=Kestra run '\w+' ended FAILED::Kestra run \w+ ended FAILED \(FAILED\)/)
  })

  it('times out a flow that runs too long, and kills it', async () => {
    const result = await runAction({ ...base('sleeps', uniqueTag()), timeout: '3s' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'timed-out', state: 'KILLED' })
    expect(result.stdout).toContain('Kestra accepted the kill of execution')
    expect((await api<Execution>(`/executions/${result.outputs['run-id']}`)).state.current).toBe('KILLED')
  })

  it('kills the execution when the job is cancelled (SIGINT)', async () => {
    let signalled = false
    const result = await runAction(base('sleeps', uniqueTag()), {}, {
      watch: (stdout, child) => {
        if (!signalled && stdout.includes('RUNNING (RUNNING)')) {
          signalled = true
          child.kill('SIGINT')
        }
      }
    })
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs).toMatchObject({ outcome: 'cancelled', state: 'KILLED' })
    expect((await api<Execution>(`/executions/${result.outputs['run-id']}`)).state.current).toBe('KILLED')
  })

  it('kills from the post step an execution whose main step was killed outright', async () => {
    const inputs = base('sleeps', uniqueTag())
    const main = await runAction(inputs, {}, {
      watch: (stdout, child) => {
        if (stdout.includes('RUNNING (RUNNING)')) child.kill('SIGKILL')
      }
    })
    expect(main.code).toBeNull()
    const post = await runAction(inputs, {}, { entry: 'post', state: main.state })
    expect(post.code, explain(post)).toBe(0)
    expect(post.stdout).toContain(`Cancelled Kestra run ${main.state['run-id']}: it ended KILLED`)
    expect((await api<Execution>(`/executions/${main.state['run-id']}`)).state.current).toBe('KILLED')
  })

  it('returns once the execution exists when wait is false', async () => {
    const tag = uniqueTag()
    const result = await runAction({ ...base('hello', tag), wait: 'false' })
    expect(result.code, explain(result)).toBe(0)
    expect(result.outputs).toMatchObject({ outcome: 'triggered', state: 'CREATED' })
    expect(await eventuallyTagged('hello', tag, 1)).toHaveLength(1)
  })

  it('creates one execution for a retried step and a new one for a new attempt', async () => {
    const tag = uniqueTag()
    const inputs = { ...base('hello', tag), wait: 'false' }
    const first = await runAction(inputs, { GITHUB_RUN_ID: '888' })
    // Past the moment the fake makes a new execution visible, as a real one becomes after its queue.
    await new Promise((resolve) => setTimeout(resolve, 500))
    const again = await runAction(inputs, { GITHUB_RUN_ID: '888' })
    expect(again.code, explain(again)).toBe(0)
    expect(again.outputs['run-id']).toBe(first.outputs['run-id'])
    expect(again.stdout).toContain('identical earlier request created')
    expect(await executionsTagged('hello', tag)).toHaveLength(1)
    const rerun = await runAction(inputs, { GITHUB_RUN_ID: '888', GITHUB_RUN_ATTEMPT: '2' })
    expect(rerun.outputs['run-id']).not.toBe(first.outputs['run-id'])
    expect(await eventuallyTagged('hello', tag, 3)).toHaveLength(2)
  })

  it('names a missing required input before creating anything', async () => {
    const tag = uniqueTag()
    const result = await runAction({ ...base('inputs_demo', tag), parameters: 'user: x\nretries: 1\ndry: false' })
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain("::error::Input 'parameters' lacks the required inputs 'config' (JSON), 'report' (FILE) of flow 'inputs_demo' in namespace 'dev'")
    expect(await executionsTagged('inputs_demo', tag)).toHaveLength(0)
  })

  it("shows Kestra's reason when it rejects an input's value", async () => {
    const tag = uniqueTag()
    const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-files-'))
    writeFileSync(join(dir, 'r.csv'), 'x')
    const result = await runAction({ ...base('inputs_demo', tag), parameters: 'user: x\nretries: many\ndry: false\nconfig: {}', files: `report=${join(dir, 'r.csv')}` })
    expect(result.code, explain(result)).toBe(1)
    expect(result.stdout).toContain('rejected the request to execute flow \'inputs_demo\' in namespace \'dev\' (422): Invalid entity: Invalid value for input `retries`. Cause: For input string: "many"')
    expect(await executionsTagged('inputs_demo', tag)).toHaveLength(0)
  })

  it('dry-run validates the inputs with Kestra, shows the request, and creates nothing', async () => {
    const tag = uniqueTag()
    const dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-files-'))
    writeFileSync(join(dir, 'r.csv'), 'abc')
    const inputs = { ...base('inputs_demo', tag), files: `report=${join(dir, 'r.csv')}`, 'dry-run': 'true' }
    const good = await runAction({ ...inputs, parameters: 'user: x\nretries: 2\ndry: true\nconfig: {a: 1}' })
    expect(good.code, explain(good)).toBe(0)
    expect(good.outputs).toEqual({ outcome: 'dry-run' })
    expect(good.stdout).toContain('multipart/form-data:\n  user: x\n  retries: 2\n  dry: true\n  config: {"a":1}\n  report: file r.csv (3 bytes)')
    expect(good.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/main\/executions\/dev\/inputs_demo\?labels=/)
    const bad = await runAction({ ...inputs, parameters: 'user: x\nretries: many\ndry: true\nconfig: "{"' })
    expect(bad.code, explain(bad)).toBe(1)
    expect(bad.stdout).toContain("::error::Input 'parameters' does not fit flow 'inputs_demo' in namespace 'dev': 'retries': Invalid value for input `retries`. Cause: For input string: \"many\"; 'config': Invalid value for input `config`.")
    expect(await eventuallyTagged('inputs_demo', tag, 1)).toHaveLength(0)
  })

  it('never prints the password nor the basic-auth header, even with debug logging on', async () => {
    const result = await runAction(base('hello', uniqueTag()), { RUNNER_DEBUG: '1', ACTIONS_STEP_DEBUG: 'true' })
    expect(result.code, explain(result)).toBe(0)
    const everything = [result.stdout.replaceAll(/^::add-mask::.*$/gm, ''), result.stderr, result.summary, JSON.stringify(result.outputs), JSON.stringify(result.state)].join('\n')
    for (const secret of [kestra.password, basic.slice('Basic '.length)]) expect(everything).not.toContain(secret)
  })

  it('names an unknown flow and the server', async () => {
    const result = await runAction(base('no_such_flow', uniqueTag()))
    expect(result.code, explain(result)).toBe(1)
    expect(result.outputs.outcome).toBe('error')
    expect(result.stdout).toContain(`::error::Kestra at ${kestra.url} (tenant 'main') has no flow 'no_such_flow' in namespace 'dev'`)
  })

  it('fails clearly with wrong credentials and without any', async () => {
    const wrong = await runAction({ ...base('hello', uniqueTag()), password: 'Wrong-Passw0rd' })
    expect(wrong.code, explain(wrong)).toBe(1)
    expect(wrong.stdout).toContain("refused the credentials (401 (empty body")
    expect(wrong.stdout).toContain("Check 'username' and 'password'")
    const none = await runAction({ ...base('hello', uniqueTag()), username: '', password: '' })
    expect(none.stdout).toContain('The server needs credentials')
  })

  it('runs with an API token from KESTRA_API_TOKEN, and with the tenant-less paths of older servers', async () => {
    const tag = uniqueTag()
    const token = await runAction({ ...base('hello', tag), username: '', password: '' }, { KESTRA_API_TOKEN: kestra.apiToken })
    expect(token.code, explain(token)).toBe(0)
    const legacy = await runAction({ ...base('hello', tag), tenant: 'none' })
    expect(legacy.code, explain(legacy)).toBe(0)
    expect(legacy.outputs['run-url']).toBe(`${kestra.url}/ui/executions/dev/hello/${legacy.outputs['run-id']}`)
    expect(await eventuallyTagged('hello', tag, 3)).toHaveLength(2)
  })
})
