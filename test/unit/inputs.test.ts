import { describe, expect, it, vi } from 'vitest'
import { InputError } from '../../src/errors.js'
import { ActionsHost } from '../../src/host.js'
import { getInputs } from '../../src/inputs.js'
import type { KestraInputs } from '../../src/kestra/inputs.js'
import type { PrefectInputs } from '../../src/prefect/inputs.js'
import { run } from '../../src/main.js'
import { basicAuthorization } from '../support/basic-auth.ts'
import { useActionEnvironment } from '../support/env.ts'
import { printed } from '../support/stdout.ts'

const env = useActionEnvironment()
const minimal = { orchestrator: 'prefect', url: 'http://127.0.0.1:4200/api', deployment: 'etl/nightly' }

function read(inputs: Record<string, string>): PrefectInputs {
  env.setInputs(inputs)
  return getInputs(new ActionsHost()) as PrefectInputs
}

function failure(inputs: Record<string, string>): InputError {
  env.setInputs(inputs)
  try {
    getInputs(new ActionsHost())
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return error as InputError
  }
  throw new Error('getInputs(new ActionsHost()) accepted the inputs')
}

describe('getInputs', () => {
  it('reads the minimal Prefect inputs with the documented defaults', () => {
    const inputs = read(minimal)
    expect(inputs).toMatchObject({
      orchestrator: 'prefect',
      url: 'http://127.0.0.1:4200/api',
      credentials: { kind: 'none' },
      deployment: { kind: 'name', flow: 'etl', name: 'nightly' },
      parameters: undefined,
      tags: [],
      labels: {},
      extraBody: {},
      waiting: { wait: true, timeoutSeconds: 3600, pollIntervalSeconds: 10, startTimeoutSeconds: 900 }
    })
    expect([...inputs.waiting.failOn]).toEqual(['FAILED', 'CRASHED', 'CANCELLED'])
  })

  it("reads start-timeout as a duration, or 'none' for no start timeout", () => {
    expect(read({ ...minimal, 'start-timeout': '2m30s' }).waiting.startTimeoutSeconds).toBe(150)
    expect(read({ ...minimal, 'start-timeout': 'None' }).waiting.startTimeoutSeconds).toBeUndefined()
  })

  it('keeps YAML types and treats JSON as YAML', () => {
    expect(
      read({ ...minimal, parameters: 'date: 2026-11-22\nfull_refresh: true\nretries: 3\nratio: 0.5\nnothing: null\nnested: {a: [1, "2"]}' })
        .parameters
    ).toEqual({
      date: '2026-11-22',
      full_refresh: true,
      retries: 3,
      ratio: 0.5,
      nothing: null,
      nested: { a: [1, '2'] }
    })
    expect(read({ ...minimal, parameters: '{"a": 1, "b": "x"}' }).parameters).toEqual({ a: 1, b: 'x' })
  })

  it.each([
    ['unparsable YAML', { parameters: 'a: [1, 2' }, /^Input 'parameters' is not valid YAML or JSON/],
    ['a list', { parameters: '- a\n- b' }, /^Input 'parameters' must be a mapping .* but it is a list$/],
    ['a scalar', { parameters: 'just text' }, /must be a mapping .* a string/],
    ['a duplicate key', { parameters: 'a: 1\na: 2' }, /^Input 'parameters' is not valid YAML or JSON: .*[Mm]ap keys must be unique/],
    ['infinity', { parameters: 'a: .inf' }, /^Input 'parameters' has Infinity at 'a'/],
    ['an unsafe integer', { parameters: 'a: {b: 12345678901234567890}' }, /^Input 'parameters' has the integer .* at 'a.b', too large/],
    ['a list of job variables', { 'job-variables': '[1]' }, /^Input 'job-variables' must be a mapping/],
    ['no orchestrator', { orchestrator: '' }, /^Input 'orchestrator' is required/],
    ['an unknown orchestrator', { orchestrator: 'airflow' }, /^Input 'orchestrator' must be 'prefect' or 'kestra'; got 'airflow'/],
    ['a Kestra input with Prefect', { namespace: 'dev' }, /^Input 'namespace' is for Kestra only, and orchestrator is 'prefect'/],
    ['no url', { url: '' }, /^Input 'url' is required/],
    ['a url that is not one', { url: 'prefect.example.com/api' }, /^Input 'url' is not a URL/],
    [
      'a url that is not one, with a token in its query',
      { url: 'http://[bad/api?token=s3cret#x' },
      /^Input 'url' is not a URL \(read from input 'url'\): 'http:\/\/\[bad\/api\?…'$/
    ],
    ['a non-http url', { url: 'ftp://x/api' }, /^Input 'url' must be an http:\/\/ or https:\/\/ URL/],
    ['credentials in the url', { url: 'https://u:p@x/api' }, /^Input 'url' must not carry credentials/],
    ['the Prefect Cloud UI url', { url: 'https://app.prefect.cloud/account/a/workspace/w' }, /^Input 'url' points at the Prefect Cloud UI/],
    ['no deployment', { deployment: '' }, /^Input 'deployment' is required/],
    ['a bad UUID', { deployment: '1234abcd-12' }, /^Input 'deployment' '1234abcd-12' is not a valid UUID/],
    [
      'a name with two slashes',
      { deployment: 'a/b/c' },
      /^Input 'deployment' must be a deployment UUID or 'flow-name\/deployment-name'; got 'a\/b\/c'/
    ],
    ['a name with no flow', { deployment: '/nightly' }, /^Input 'deployment' must be/],
    [
      'a bad duration',
      { timeout: '10 minutes' },
      /^Input 'timeout' must be a duration such as '90s', '30m', '2h' or a number of seconds; got '10 minutes'/
    ],
    ['a zero duration', { timeout: '0s' }, /^Input 'timeout' must be longer than zero/],
    ['a short poll interval', { 'poll-interval': '0.5s' }, /^Input 'poll-interval' must be at least 1s/],
    ['a start timeout that is no duration', { 'start-timeout': 'never' }, /^Input 'start-timeout' must be a duration such as '90s'/],
    ['a zero start timeout', { 'start-timeout': '0' }, /^Input 'start-timeout' must be longer than zero/],
    ['a non-boolean wait', { wait: 'yes' }, /^Input 'wait' must be true or false; got 'yes'/],
    [
      'a non-terminal fail-on state',
      { 'fail-on': 'FAILED, RUNNING' },
      /^Input 'fail-on' names 'RUNNING', which is not a terminal state; choose from COMPLETED, FAILED, CANCELLED, CRASHED/
    ],
    [
      'a time without a zone',
      { 'scheduled-time': '2026-11-22T18:00:00' },
      /^Input 'scheduled-time' must be an ISO 8601 date and time with a time zone/
    ],
    [
      'an impossible month',
      { 'scheduled-time': '2026-13-10T18:00:00Z' },
      /^Input 'scheduled-time' has the month 13, and months run 01 to 12; give an ISO 8601 date/
    ],
    [
      '31 February',
      { 'scheduled-time': '2026-02-31T18:00:00Z' },
      /^Input 'scheduled-time' has the day 31, and February 2026 has 28 days; .*got '2026-02-31T18:00:00Z'$/
    ],
    [
      '29 February of a common year',
      { 'scheduled-time': '2100-02-29T18:00:00Z' },
      /^Input 'scheduled-time' has the day 29, and February 2100 has 28 days/
    ],
    ['31 April', { 'scheduled-time': '2026-04-31 09:30+02:00' }, /^Input 'scheduled-time' has the day 31, and April 2026 has 30 days/],
    ['day 00', { 'scheduled-time': '2026-04-00T09:30:00Z' }, /^Input 'scheduled-time' has the day 00/],
    ['the hour 24', { 'scheduled-time': '2026-11-22T24:00:00Z' }, /^Input 'scheduled-time' has the hour 24, and hours run 00 to 23/],
    ['the minute 60', { 'scheduled-time': '2026-11-22T18:60:00Z' }, /^Input 'scheduled-time' has the minute 60/],
    ['the second 60', { 'scheduled-time': '2026-11-22T18:00:60Z' }, /^Input 'scheduled-time' has the second 60/],
    [
      'an offset of 24 hours',
      { 'scheduled-time': '2026-11-22T18:00:00+24:00' },
      /^Input 'scheduled-time' has the time zone offset \+24:00/
    ],
    ['a label with no key', { labels: 'team=data\n=x' }, /^Input 'labels' line 2 must be key=value; got '=x'/],
    ['a label twice', { labels: 'a=1\na=2' }, /^Input 'labels' names 'a' twice/],
    ['a create field that has its own input', { 'extra-body': 'tags: [a]' }, /^Input 'extra-body' sets 'tags'; use input 'tags' instead/],
    ['an unknown create field', { 'extra-body': 'priority: 1' }, /^Input 'extra-body' sets 'priority', which is not a field/],
    [
      'api key and basic auth',
      { 'api-key': 'pnu_x', username: 'u', password: 'p' },
      /^Input 'api-key' and 'username'\/'password' are both set/
    ],
    ['a username without a password', { username: 'u' }, /^Input 'password' is empty but a username is set/],
    ['a password without a username', { password: 'p' }, /^Input 'username' is empty but a password is set/]
  ])('refuses %s, naming the input', (_, inputs, message) => {
    expect(failure({ ...minimal, ...inputs }).message).toMatch(message)
  })

  it.each([
    ['2028-02-29T12:00:00+01:00', '2028-02-29T11:00:00.000Z'],
    ['2000-02-29 23:59:59.123456-00:30', '2000-03-01T00:29:59.123Z'],
    ['2026-12-31t23:59z', '2026-12-31T23:59:00.000Z'],
    ['2026-11-22T18:00:00+0100', '2026-11-22T17:00:00.000Z']
  ])('reads the scheduled time %s as %s', (time, iso) => {
    expect(read({ ...minimal, 'scheduled-time': time }).scheduledTime).toBe(iso)
  })

  it.each([
    [
      '!!binary',
      'parameters',
      'blob: !!binary aGVsbG8=',
      /^Input 'parameters' has the tag !!binary at 'blob': it reads the value as bytes, which JSON has no type for/
    ],
    [
      '!!set',
      'parameters',
      'nested:\n  ids: !!set {a, b}',
      /^Input 'parameters' has the tag !!set at 'nested.ids': JSON has no such collection/
    ],
    ['!!omap', 'job-variables', 'env: !!omap [{A: 1}, {B: 2}]', /^Input 'job-variables' has the tag !!omap at 'env'/],
    ['!!pairs', 'parameters', 'p: !!pairs [{A: 1}]', /^Input 'parameters' has the tag !!pairs at 'p'/],
    [
      '!!timestamp',
      'parameters',
      'at: !!timestamp 2026-11-22',
      /^Input 'parameters' has the tag !!timestamp at 'at': it would be sent rewritten as a time in UTC/
    ],
    [
      '!!float on a whole number',
      'parameters',
      'ratio: !!float 1.0',
      /^Input 'parameters' has the tag !!float at 'ratio': JSON has no whole-number float, so the server would read the integer 1/
    ],
    [
      '!!float on what is no number',
      'parameters',
      'ratio: !!float 1',
      /^Input 'parameters' has the tag !!float at 'ratio': it does not fit what is written there, which would be sent as "1"/
    ],
    [
      '!!bool on yes',
      'parameters',
      'flag: !!bool yes',
      /^Input 'parameters' has the tag !!bool at 'flag': it does not fit what is written there, which would be sent as "yes"/
    ],
    ['!!int on a fraction', 'parameters', 'n: !!int 1.5', /^Input 'parameters' has the tag !!int at 'n'/],
    [
      '!!str on a list',
      'parameters',
      's: !!str [1]',
      /^Input 'parameters' has the tag !!str at 's': it does not fit what is written there, which would be sent as a list/
    ],
    [
      'a local tag',
      'parameters',
      'list: [1, !secret x]',
      /^Input 'parameters' has the tag !secret at 'list\[1\]': it is not a type of YAML's core schema .* would be dropped/
    ],
    [
      'a tag of another schema',
      'extra-body',
      '%TAG !e! tag:example.com,2000:\n---\ncontext: !e!thing 1',
      /^Input 'extra-body' has the tag !<tag:example.com,2000:thing> at 'context'/
    ],
    ['!!merge', 'parameters', 'a: !!merge {b: 1}', /^Input 'parameters' has the tag !!merge at 'a'/],
    ['a tagged key', 'parameters', '!!binary aGk=: 1', /^Input 'parameters' has the tag !!binary on a key at the top/],
    ['a tag on the whole mapping', 'job-variables', '!!set\n? a', /^Input 'job-variables' has the tag !!set at the top/],
    [
      'a key that is a list',
      'parameters',
      '? [a, b]\n: 1',
      /^Input 'parameters' has a key that is a list or a mapping at the top, which JSON cannot carry/
    ]
  ])('refuses %s in %s, naming the input, the key path and the tag', (_, name, yaml, message) => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(failure({ ...minimal, [name]: yaml }).message).toMatch(message)
    } finally {
      stderr.mockRestore()
    }
  })

  it('keeps the tags JSON carries as written', () => {
    const yaml =
      'a: !!str 1\nb: !!int 0x1F\nc: !!float 1.5\nd: !!bool true\ne: !!null\nf: !!map {x: !!seq [1]}\ng: ! 12\nh: !<tag:yaml.org,2002:str> 007\ni: !!int "12"'
    expect(read({ ...minimal, parameters: yaml, 'job-variables': yaml }).parameters).toEqual({
      a: '1',
      b: 31,
      c: 1.5,
      d: true,
      e: null,
      f: { x: [1] },
      g: '12',
      h: '007',
      i: 12
    })
  })

  it('reads a deployment UUID in any case', () => {
    expect(read({ ...minimal, deployment: 'A1B2C3D4-0000-4000-8000-00000000000F' }).deployment).toEqual({
      kind: 'id',
      id: 'a1b2c3d4-0000-4000-8000-00000000000f'
    })
  })

  it('keeps spaces, ? and # in deployment names', () => {
    expect(read({ ...minimal, deployment: 'my flow/nightly ?#1' }).deployment).toEqual({
      kind: 'name',
      flow: 'my flow',
      name: 'nightly ?#1'
    })
  })

  it.each([
    ['90', 90],
    ['90s', 90],
    ['30m', 1800],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1.5m', 90]
  ])('reads the timeout %s as %i seconds', (timeout, seconds) => {
    expect(read({ ...minimal, timeout }).waiting.timeoutSeconds).toBe(seconds)
  })

  it('reads lists, labels, fail-on none and the other create fields', () => {
    const inputs = read({
      ...minimal,
      tags: 'a, b\nc\na',
      labels: 'team=data\nurl=https://x.example/?a=b:c\n# a comment',
      'fail-on': 'none',
      'run-name': 'nightly-42',
      'work-queue': 'gpu',
      'job-variables': 'image: etl:2',
      'scheduled-time': '2026-11-22T19:00:00+01:00',
      'idempotency-key': 'k-1',
      'enforce-parameter-schema': 'false',
      'extra-body': 'context: {source: ci}\nempirical_policy: {retries: 2}',
      'ui-url': 'https://prefect.example.com/'
    })
    expect(inputs.tags).toEqual(['a', 'b', 'c'])
    expect(inputs.labels).toEqual({ team: 'data', url: 'https://x.example/?a=b:c' })
    expect(inputs.waiting.failOn.size).toBe(0)
    expect(inputs).toMatchObject({
      runName: 'nightly-42',
      workQueue: 'gpu',
      jobVariables: { image: 'etl:2' },
      scheduledTime: '2026-11-22T18:00:00.000Z',
      idempotencyKey: 'k-1',
      enforceParameterSchema: false,
      extraBody: { context: { source: 'ci' }, empirical_policy: { retries: 2 } },
      uiUrl: 'https://prefect.example.com'
    })
  })

  it('takes the URL and credentials from the environment when the inputs are empty', () => {
    process.env.PREFECT_API_URL = 'https://api.prefect.cloud/api/accounts/a/workspaces/w/'
    process.env.PREFECT_API_KEY = 'pnu_from_env'
    expect(read({ ...minimal, url: '' })).toMatchObject({
      url: 'https://api.prefect.cloud/api/accounts/a/workspaces/w',
      credentials: { kind: 'bearer', token: 'pnu_from_env' }
    })
  })

  it('splits PREFECT_API_AUTH_STRING at the first colon', () => {
    process.env.PREFECT_API_AUTH_STRING = 'admin:pa:ss'
    expect(read(minimal).credentials).toEqual({ kind: 'basic', username: 'admin', password: 'pa:ss' })
  })

  it('refuses both PREFECT_API_KEY and PREFECT_API_AUTH_STRING', () => {
    process.env.PREFECT_API_KEY = 'pnu_x'
    process.env.PREFECT_API_AUTH_STRING = 'a:b'
    expect(failure(minimal).message).toMatch(/both PREFECT_API_KEY and PREFECT_API_AUTH_STRING are set/)
  })

  it('prefers the inputs to the environment for credentials', () => {
    process.env.PREFECT_API_AUTH_STRING = 'a:b'
    expect(read({ ...minimal, 'api-key': 'pnu_input' }).credentials).toEqual({ kind: 'bearer', token: 'pnu_input' })
  })

  it('masks every secret and the basic-auth header value before anything else is printed', async () => {
    // Inputs refused after the credentials are read: the step prints its error, and nothing of it may come before the masks.
    env.setInputs({ ...minimal, username: 'admin', password: 's3cret', parameters: 'a: [' })
    const lines = (await printed(() => run(new ActionsHost()))).split('\n').filter(Boolean)
    const masks = lines.filter((line) => line.startsWith('::add-mask::'))
    expect(masks).toEqual(
      expect.arrayContaining([
        '::add-mask::s3cret',
        '::add-mask::admin:s3cret',
        `::add-mask::${basicAuthorization('admin:s3cret').slice('Basic '.length)}`
      ])
    )
    expect(lines.slice(0, masks.length)).toEqual(masks)
    expect(lines.slice(masks.length)).toContainEqual(expect.stringMatching(/^::error::Input 'parameters' is not valid YAML or JSON/))
  })

  it('masks the API key even when the inputs are refused', async () => {
    const log = await printed(() => failure({ ...minimal, 'api-key': 'pnu_secret', username: 'u', password: 'p' }))
    expect(log).toContain('::add-mask::pnu_secret')
  })
})

describe('run-id: following a run that exists', () => {
  const RUN = '0d7f8a2e-5b1c-4c3e-9f10-2a4b6c8d0e12'

  it('reads it, and cancels nothing by default: someone else started the run', () => {
    const inputs = read({ ...minimal, 'run-id': RUN })
    expect(inputs.runId).toBe(RUN)
    expect(inputs.waiting.cancelOn).toEqual({ timeout: false, jobCancel: false })
    expect(read({ ...minimal, 'run-id': RUN, 'cancel-on': 'both' }).waiting.cancelOn).toEqual({ timeout: true, jobCancel: true })
    expect(read(minimal).waiting.cancelOn).toEqual({ timeout: true, jobCancel: true })
  })

  it.each([
    ['parameters', 'a: 1'],
    ['labels', 'team=data'],
    ['scheduled-time', '2026-11-22T18:00:00Z'],
    ['idempotency-key', 'k'],
    ['run-name', 'nightly'],
    ['tags', 'x'],
    ['job-variables', 'a: 1'],
    ['work-queue', 'q'],
    ['enforce-parameter-schema', 'false'],
    ['extra-body', 'context: {}']
  ])('refuses %s beside it: it only shapes a new run', (name, value) => {
    const error = failure({ ...minimal, 'run-id': RUN, [name]: value })
    expect(error.input).toBe(name)
    expect(error.message).toContain("with input 'run-id' the step follows a run that exists")
  })

  it.each([
    ['dry-run', 'true'],
    ['wait', 'false']
  ])('refuses %s: %s beside it', (name, value) => {
    expect(failure({ ...minimal, 'run-id': RUN, [name]: value }).input).toBe(name)
  })

  it("takes dry-run's and wait's defaults, as the runner passes them", () => {
    expect(read({ ...minimal, 'run-id': RUN, 'dry-run': 'false', wait: 'true' }).runId).toBe(RUN)
  })

  it.each([
    ['not-a-uuid', 'must be a Prefect flow run id, a UUID'],
    ['0d7f8a2e-5b1c-4c3e-9f10-2a4b6c8d0e1', 'must be a Prefect flow run id, a UUID'],
    ['../../deployments', "must be a run id (letters, digits, '-' and '_')"],
    ['a b', "must be a run id (letters, digits, '-' and '_')"]
  ])('refuses the Prefect run id %j', (id, message) => {
    const error = failure({ ...minimal, 'run-id': id })
    expect(error.input).toBe('run-id')
    expect(error.message).toContain(message)
  })

  it('still needs the deployment: the run must be one of its runs', () => {
    expect(failure({ orchestrator: 'prefect', url: minimal.url, 'run-id': RUN }).input).toBe('deployment')
  })

  const kestra = {
    orchestrator: 'kestra',
    url: 'http://127.0.0.1:8080',
    namespace: 'company.team',
    flow: 'nightly',
    'run-id': '1KWLxLeaXEXNDaXWP7YSKA'
  }

  it('reads a Kestra execution id', () => {
    expect((read(kestra) as unknown as KestraInputs).runId).toBe('1KWLxLeaXEXNDaXWP7YSKA')
  })

  it("refuses Kestra's revision beside it", () => {
    expect(failure({ ...kestra, revision: '2' }).input).toBe('revision')
  })

  it('still needs the namespace and flow on Kestra', () => {
    expect(failure({ ...kestra, flow: '' }).input).toBe('flow')
  })
})

describe('getInputs for Kestra', () => {
  const kestra = { orchestrator: 'kestra', url: 'https://kestra.example.com/', namespace: 'dev', flow: 'inputs_demo' }
  const readKestra = (inputs: Record<string, string>): KestraInputs => {
    env.setInputs(inputs)
    return getInputs(new ActionsHost()) as KestraInputs
  }

  it('reads the minimal inputs with the documented defaults', () => {
    const inputs = readKestra(kestra)
    expect(inputs).toMatchObject({
      orchestrator: 'kestra',
      url: 'https://kestra.example.com',
      tenant: 'main',
      namespace: 'dev',
      flow: 'inputs_demo',
      files: [],
      credentials: { kind: 'none' }
    })
    expect([...inputs.waiting.failOn]).toEqual(['FAILED', 'KILLED', 'CANCELLED', 'RETRIED', 'SKIPPED', 'RESUBMITTED'])
  })

  it("takes 'none' as the tenant of servers older than 0.23, and reads the environment", () => {
    process.env.KESTRA_URL = 'http://kestra.internal:8080'
    process.env.KESTRA_TENANT = 'none'
    process.env.KESTRA_USERNAME = 'ci@example.com'
    process.env.KESTRA_PASSWORD = 'Ci-Passw0rd'
    expect(readKestra({ ...kestra, url: '' })).toMatchObject({
      url: 'http://kestra.internal:8080',
      tenant: undefined,
      credentials: { kind: 'basic', username: 'ci@example.com', password: 'Ci-Passw0rd' }
    })
  })

  it('reads an API token from KESTRA_API_TOKEN, and refuses it beside basic auth from the environment', () => {
    process.env.KESTRA_API_TOKEN = 'tok'
    expect(readKestra(kestra).credentials).toEqual({ kind: 'bearer', token: 'tok' })
    process.env.KESTRA_USERNAME = 'u@x.io'
    process.env.KESTRA_PASSWORD = 'p'
    expect(failure(kestra).message).toMatch(/both KESTRA_API_TOKEN and KESTRA_USERNAME and KESTRA_PASSWORD are set/)
  })

  it('resolves files against the workspace and checks that they exist', () => {
    process.env.GITHUB_WORKSPACE = process.cwd()
    expect(readKestra({ ...kestra, files: 'report=package.json\nother=./README.md' }).files).toEqual([
      { input: 'report', path: `${process.cwd()}/package.json` },
      { input: 'other', path: `${process.cwd()}/README.md` }
    ])
  })

  it.each([
    ['no namespace', { namespace: '' }, /^Input 'namespace' is required with orchestrator kestra/],
    ['a namespace with capitals', { namespace: 'Dev' }, /^Input 'namespace' may hold only lower-case letters/],
    ['a flow id with a space', { flow: 'my flow' }, /^Input 'flow' may hold only letters/],
    [
      'a missing file',
      { files: 'report=./no/such/file.csv' },
      /^Input 'files' gives '.\/no\/such\/file.csv' for the input 'report', which is not a file/
    ],
    ['a directory as a file', { files: 'report=src' }, /^Input 'files' gives 'src' for the input 'report', which is not a file/],
    [
      'a label key Kestra refuses',
      { labels: 'Team=data' },
      /^Input 'labels' has the key 'Team'; Kestra label keys start with a lower-case letter/
    ],
    [
      'a system label',
      { labels: 'system.correlationId=x' },
      /^Input 'labels' has the key 'system.correlationId'; Kestra sets 'system.' labels itself/
    ],
    ['an empty label value', { labels: 'team=' }, /^Input 'labels' has an empty value for 'team'/],
    ['a bad revision', { revision: '0' }, /^Input 'revision' must be a flow revision number/],
    ['a bad tenant', { tenant: 'a/b' }, /^Input 'tenant' must be a tenant id/],
    ['a Prefect input', { deployment: 'a/b' }, /^Input 'deployment' is for Prefect only, and orchestrator is 'kestra'/],
    [
      'a Prefect state in fail-on',
      { 'fail-on': 'CRASHED' },
      /^Input 'fail-on' names 'CRASHED', which is not a terminal state; choose from SUCCESS, WARNING, FAILED, KILLED/
    ]
  ])('refuses %s, naming the input', (_, inputs, message) => {
    process.env.GITHUB_WORKSPACE = process.cwd()
    expect(failure({ ...kestra, ...inputs }).message).toMatch(message)
  })

  it('accepts WARNING in fail-on, and labels with = and : in their values', () => {
    const inputs = readKestra({ ...kestra, 'fail-on': 'FAILED, WARNING', labels: 'team=data\nurl=https://x/?a=b:c', revision: '3' })
    expect([...inputs.waiting.failOn]).toEqual(['FAILED', 'WARNING'])
    expect(inputs.labels).toEqual({ team: 'data', url: 'https://x/?a=b:c' })
    expect(inputs.revision).toBe(3)
  })
})

describe('credentials in a URL', () => {
  const kestra = { orchestrator: 'kestra', url: 'https://kestra.example.com', namespace: 'dev', flow: 'inputs_demo' }
  // Each value with the secrets it carries, as written and as a URL parser would encode them.
  const urls: [string, string[]][] = [
    ['https://user:p@ss word@host/api', ['p@ss word', 'p%40ss%20word']],
    ['http://u:secret@[bad', ['secret']],
    ['https://u:pa/ss@host/api', ['pa/ss']],
    ['https://u:1234/ss@host/api', ['1234/ss']],
    ['https://u:1234#ss@host/api', ['1234#ss']],
    ['https:/u:s3cr%3Ft@host/api', ['s3cr%3Ft', 's3cr?t']],
    ['https://ghp_t0ken@[bad/api', ['ghp_t0ken']]
  ]
  const places: [string, (url: string) => Record<string, string>][] = [
    ['input url (Prefect)', (url) => ({ ...minimal, url })],
    ['input ui-url', (url) => ({ ...minimal, 'ui-url': url })],
    [
      'PREFECT_API_URL',
      (url) => {
        process.env.PREFECT_API_URL = url
        return { ...minimal, url: '' }
      }
    ],
    [
      'KESTRA_URL',
      (url) => {
        process.env.KESTRA_URL = url
        return { ...kestra, url: '' }
      }
    ],
    ['input url, when another input is refused first', (url) => ({ ...minimal, url, namespace: 'dev' })]
  ]

  describe.each(places)('in %s', (_, inputsFor) => {
    it.each(urls)(
      'never shows the credentials of %s: masked first, absent from the message, the log and the summary',
      async (url, secrets) => {
        env.setInputs(inputsFor(url))
        const stdout = await printed(() => run(new ActionsHost()))
        // Workflow commands escape '%' and line breaks; read them as the runner does.
        const lines = stdout.split('\n').map((line) => line.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%'))
        const masks = lines.filter((line) => line.startsWith('::add-mask::'))
        const shown = [...lines.filter((line) => !line.startsWith('::add-mask::')), env.summary(), JSON.stringify(env.outputs())].join('\n')
        expect(process.exitCode).toBe(1)
        for (const secret of secrets) {
          expect(masks).toContain(`::add-mask::${secret}`)
          expect(shown).not.toContain(secret)
          expect(shown).not.toContain(encodeURIComponent(secret))
        }
        if (!/refused first/.test(_))
          expect(shown).toMatch(
            /::error::Input '(url|ui-url)' must not carry credentials \(read from (input '(url|ui-url)'|environment variable \w+): '[^']*\*\*\*@/
          )
      }
    )
  })

  it("refuses an '@' in the path too, as it cannot tell it from a password with a '/'", () => {
    expect(failure({ ...minimal, url: 'https://prefect.example.com/api/@team' }).message).toMatch(
      /^Input 'url' must not carry credentials \(read from input 'url': 'https:\/\/\*\*\*@team'\); use 'username' and 'password', and write an '@' that belongs to the URL as %40/
    )
  })
})
