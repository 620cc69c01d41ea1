import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { parse } from 'yaml'

/**
 * A contract fake of an open-source Kestra 1.x server (tenant `main`), for the
 * machines where no Kestra server can be had. Routes, query parameters, bodies,
 * states and error messages follow Kestra's OpenAPI description (client-sdk
 * `kestra-ee.yml`, 1.3.0) and the behaviour its source and docs describe:
 * mandatory basic auth with a 401 and `WWW-Authenticate: Basic`; the fixed
 * tenant `main` and the alias of tenant-less paths; multipart inputs parsed by
 * type (INT, FLOAT, BOOL, STRING, JSON, ARRAY, FILE) with Kestra's 422
 * messages; `labels=key:value` split at the first ':'; an execution that is
 * not visible to reads for a moment after its create; and Micronaut's
 * `{"message", "_links"}` error bodies; the 1.x kill (`DELETE .../kill`, 202,
 * KILLING then KILLED). Flows run a small set of core tasks: Log, Sleep
 * (`duration: PT<n>S`), Fail and Pause; `{{ inputs.x }}` in flow outputs and
 * Log messages is rendered, and Log messages are served by `GET /logs/{id}`
 * and by server-sent events on `GET /logs/{id}/follow`, as Kestra's
 * LogController sends them: an opening event with an empty entry, the stored
 * lines, then new ones as they come, with no end.
 */

export interface KestraFakeOptions {
  username: string
  password: string
  /** An API token that is accepted as a Bearer token, as Enterprise servers do. */
  apiToken?: string
  /** How long a new execution stays invisible to reads and searches. */
  visibilityDelayMs?: number
  /** False: no `GET /logs/{id}/follow` (404), as on a server that hides it. */
  followLogs?: boolean
}

interface FlowInput {
  id: string
  type: string
  required?: boolean
  defaults?: unknown
}

interface Flow {
  id: string
  namespace: string
  revision: number
  disabled: boolean
  inputs?: FlowInput[]
  outputs?: Array<{ id: string; type: string; value: string }>
  tasks: Array<{ id: string; type: string; [key: string]: unknown }>
  labels?: unknown
  source: string
}

interface Execution {
  id: string
  namespace: string
  flowId: string
  flowRevision: number
  tenantId: string
  labels: Array<{ key: string; value: string }>
  inputs: Record<string, unknown>
  outputs?: Record<string, unknown>
  state: { current: string; histories: Array<{ state: string; date: string }>; startDate: string; endDate?: string; duration: string }
  originalId: string
  deleted: boolean
  metadata: { attemptNumber: number; originalCreatedDate: string }
  scheduleDate?: string
  kind?: string
}

export interface KestraFake {
  url: string
  close(): Promise<void>
}

class HttpError extends Error {
  readonly status: number

  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
/** Kestra's ids are 22 base62 characters (a UUID's 128 bits). */
const newId = (): string => [...randomBytes(22)].map((b) => BASE62[b % 62]).join('')

export async function startKestraFake(options: KestraFakeOptions): Promise<KestraFake> {
  const flows = new Map<string, Flow[]>()
  const executions = new Map<string, { execution: Execution; visibleAt: number; files: Map<string, Buffer>; logs: object[] }>()
  const timers = new Set<NodeJS.Timeout>()
  const followers = new Map<string, Set<ServerResponse>>()
  const visibilityDelayMs = options.visibilityDelayMs ?? 300

  function authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? ''
    if (header === `Basic ${Buffer.from(`${options.username}:${options.password}`).toString('base64')}`) return true
    return options.apiToken !== undefined && header === `Bearer ${options.apiToken}`
  }

  function visible(id: string): Execution | undefined {
    const entry = executions.get(id)
    return entry && Date.now() >= entry.visibleAt ? entry.execution : undefined
  }

  function setState(execution: Execution, state: string): void {
    const date = new Date().toISOString()
    execution.state.current = state
    execution.state.histories.push({ state, date })
    const terminal = ['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED'].includes(state)
    if (terminal) execution.state.endDate = date
    const end = Date.parse(execution.state.endDate ?? date)
    execution.state.duration = `PT${((end - Date.parse(execution.state.startDate)) / 1000).toFixed(3)}S`
  }

  function addLog(executionId: string, entry: object): void {
    executions.get(executionId)?.logs.push(entry)
    for (const res of followers.get(executionId) ?? []) sendEvent(res, 'progress', entry)
  }

  function sendEvent(res: ServerResponse, id: string, data: object): void {
    res.write(`data: ${JSON.stringify(data)}\nid: ${id}\n\n`)
  }

  function follow(req: IncomingMessage, res: ServerResponse, executionId: string): void {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    sendEvent(res, 'start', {})
    for (const entry of executions.get(executionId)?.logs ?? []) sendEvent(res, 'progress', entry)
    const set = followers.get(executionId) ?? new Set()
    followers.set(executionId, set.add(res))
    req.on('close', () => set.delete(res))
  }

  function later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer)
      action()
    }, ms)
    timers.add(timer)
  }

  /** Runs the flow's tasks one after the other, as a worker would. */
  function run(execution: Execution, flow: Flow): void {
    const steps = [...flow.tasks]
    const next = (): void => {
      // A kill stops the work between two tasks, as a worker's does.
      if (execution.state.current === 'KILLING' || execution.state.current === 'KILLED') return
      const task = steps.shift()
      if (!task) {
        execution.outputs = Object.fromEntries((flow.outputs ?? []).map((output) => [output.id, render(output.value, execution.inputs)]))
        setState(execution, 'SUCCESS')
        return
      }
      switch (task.type) {
        case 'io.kestra.plugin.core.log.Log': {
          const messages = Array.isArray(task.message) ? task.message : [task.message]
          for (const message of messages) {
            addLog(execution.id, {
              namespace: execution.namespace,
              flowId: execution.flowId,
              taskId: task.id,
              executionId: execution.id,
              timestamp: new Date().toISOString(),
              level: String(task.level ?? 'INFO'),
              thread: 'worker',
              message: String(render(String(message), execution.inputs))
            })
          }
          later(50, next)
          return
        }
        case 'io.kestra.plugin.core.flow.Sleep': {
          const seconds = Number(/^PT(\d+(?:\.\d+)?)S$/.exec(String(task.duration))?.[1] ?? 1)
          later(seconds * 1000, next)
          return
        }
        case 'io.kestra.plugin.core.execution.Fail':
          later(50, () => setState(execution, 'FAILED'))
          return
        case 'io.kestra.plugin.core.flow.Pause':
          later(50, () => setState(execution, 'PAUSED'))
          return
        default:
          later(50, () => setState(execution, 'FAILED'))
          return
      }
    }
    later(200, () => {
      setState(execution, 'RUNNING')
      next()
    })
  }

  async function createExecution(req: IncomingMessage, url: URL, namespace: string, flowId: string, body: Buffer): Promise<unknown> {
    const revisions = flows.get(`${namespace}/${flowId}`)
    const revision = url.searchParams.get('revision')
    const flow = revision ? revisions?.find((f) => f.revision === Number(revision)) : revisions?.at(-1)
    if (!flow) throw new HttpError(404, 'Not Found: Requested Flow is not found.')
    if (flow.disabled) throw new HttpError(409, 'Illegal state: Requested Flow is disabled.')

    const labels: Execution['labels'] = []
    for (const item of url.searchParams.getAll('labels')) {
      const colon = item.indexOf(':')
      const key = colon < 0 ? '' : item.slice(0, colon)
      if (key === '') throw new HttpError(422, 'Invalid queryString parameter')
      if (key.startsWith('system.') && key !== 'system.correlationId') {
        throw new HttpError(422, `Illegal argument: System labels can only be set by Kestra itself, offending label: ${key}=${item.slice(colon + 1)}`)
      }
      if (labels.some((label) => label.key === key)) throw new HttpError(409, `Illegal state: Duplicate key ${key}`)
      labels.push({ key, value: item.slice(colon + 1) })
    }

    const { form, fileParts } = await readForm(req, body)
    const id = newId()
    const inputs: Record<string, unknown> = {}
    const files = new Map<string, Buffer>()
    for (const input of flow.inputs ?? []) {
      const read = await readInput(input, form.get(input.id), fileParts.get(input.id), `${namespace}/${flowId}/executions/${id}`)
      if (read.error) throw read.error
      if (read.file) files.set(String(read.value), read.file)
      if (read.given || read.value !== undefined) inputs[input.id] = read.value
    }

    const now = new Date().toISOString()
    const scheduleDate = url.searchParams.get('scheduleDate') ?? undefined
    const execution: Execution = {
      id,
      namespace,
      flowId,
      flowRevision: flow.revision,
      tenantId: 'main',
      labels,
      inputs,
      state: { current: 'CREATED', histories: [{ state: 'CREATED', date: now }], startDate: now, duration: 'PT0S' },
      originalId: id,
      deleted: false,
      metadata: { attemptNumber: 1, originalCreatedDate: now },
      ...(scheduleDate && { scheduleDate }),
      kind: 'NORMAL'
    }
    executions.set(id, { execution, visibleAt: Date.now() + visibilityDelayMs, files, logs: [] })
    if (!scheduleDate || Date.parse(scheduleDate) <= Date.now()) run(execution, flow)
    return { ...execution, url: `/ui/main/executions/${namespace}/${flowId}/${id}` }
  }

  /** `POST .../validate`: the same form, checked input by input, nothing created. */
  async function validateInputs(req: IncomingMessage, namespace: string, flowId: string, body: Buffer): Promise<unknown> {
    const flow = flows.get(`${namespace}/${flowId}`)?.at(-1)
    if (!flow) throw new HttpError(404, 'Not Found: Requested Flow is not found.')
    const { form, fileParts } = await readForm(req, body)
    const inputs = []
    for (const input of flow.inputs ?? []) {
      const read = await readInput(input, form.get(input.id), fileParts.get(input.id), `${namespace}/${flowId}/executions/validate`)
      inputs.push({ input, value: read.value ?? null, enabled: true, isDefault: !read.given, errors: read.error ? [{ message: read.error.message.replace(/^Invalid entity: /, '') }] : [] })
    }
    return { id: flowId, namespace, inputs, checks: [] }
  }

  function search(url: URL): unknown {
    const params = url.searchParams
    const namespace = params.get('filters[namespace][EQUALS]') ?? params.get('namespace')
    const flowId = params.get('filters[flowId][EQUALS]') ?? params.get('flowId')
    const wanted: Array<[string, string]> = []
    for (const [name, value] of params.entries()) {
      const match = /^filters\[labels\]\[EQUALS\]\[(.+)\]$/.exec(name)
      if (match) wanted.push([match[1], value])
      if (name === 'labels') wanted.push([value.slice(0, value.indexOf(':')), value.slice(value.indexOf(':') + 1)])
    }
    const results = [...executions.keys()]
      .map(visible)
      .filter((e): e is Execution => e !== undefined)
      .filter((e) => (!namespace || e.namespace === namespace) && (!flowId || e.flowId === flowId))
      .filter((e) => wanted.every(([key, value]) => e.labels.some((label) => label.key === key && label.value === value)))
    const size = Number(params.get('size') ?? 10)
    return { results: results.slice(0, size), total: results.length }
  }

  async function route(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake')
    let path = url.pathname
    if (!path.startsWith('/api/v1/')) throw new HttpError(404, 'Page Not Found')
    if (!authorized(req)) {
      res.writeHead(401, { 'www-authenticate': 'Basic' }).end()
      return
    }
    // The alias of tenant-less paths that 0.23+ keeps for servers from before tenants.
    if (/^\/api\/v1\/(executions|flows|logs)\//.test(path)) path = path.replace('/api/v1/', '/api/v1/main/')
    const tenant = path.split('/')[3]
    if (tenant !== 'main') throw new HttpError(400, "Tenant must be 'main' for OSS version")
    const rest = path.slice('/api/v1/main'.length)
    const method = req.method ?? 'GET'
    let match: RegExpExecArray | null

    if (method === 'POST' && rest === '/flows') return json(res, 200, saveFlow(body.toString()))
    if (method === 'GET' && (match = /^\/flows\/([^/]+)\/([^/]+)$/.exec(rest))) {
      const revisions = flows.get(`${decodeURIComponent(match[1])}/${decodeURIComponent(match[2])}`)
      const revision = url.searchParams.get('revision')
      const flow = revision ? revisions?.find((f) => f.revision === Number(revision)) : revisions?.at(-1)
      if (!flow) throw new HttpError(404, 'Not Found')
      return json(res, 200, flow)
    }
    if (method === 'GET' && rest === '/executions/search') return json(res, 200, search(url))
    if (method === 'GET' && (match = /^\/logs\/([^/]+)\/follow$/.exec(rest))) {
      if (options.followLogs === false) throw new HttpError(404, 'Not Found')
      return follow(req, res, decodeURIComponent(match[1]))
    }
    if (method === 'GET' && (match = /^\/logs\/([^/]+)$/.exec(rest))) {
      const entry = executions.get(decodeURIComponent(match[1]))
      if (!entry || !visible(entry.execution.id)) throw new HttpError(404, 'Not Found')
      return json(res, 200, entry.logs)
    }
    if (method === 'POST' && (match = /^\/executions\/([^/]+)\/([^/]+)\/validate$/.exec(rest))) {
      return json(res, 200, await validateInputs(req, decodeURIComponent(match[1]), decodeURIComponent(match[2]), body))
    }
    if (method === 'POST' && (match = /^\/executions\/([^/]+)\/([^/]+)$/.exec(rest))) {
      return json(res, 200, await createExecution(req, url, decodeURIComponent(match[1]), decodeURIComponent(match[2]), body))
    }
    // 0.23 to 1.3 kill here; 2.0 moved it to /actions/kill, which these versions answer with 404.
    if (method === 'DELETE' && (match = /^\/executions\/([^/]+)\/kill$/.exec(rest))) {
      const execution = visible(decodeURIComponent(match[1]))
      if (!execution) throw new HttpError(404, 'Not Found')
      const terminal = ['SUCCESS', 'WARNING', 'FAILED', 'KILLED', 'CANCELLED'].includes(execution.state.current)
      if (terminal && url.searchParams.get('isOnKillCascade') === 'false') throw new HttpError(409, "Illegal state: Execution is already finished, can't kill it")
      if (!terminal) {
        setState(execution, 'KILLING')
        later(100, () => setState(execution, 'KILLED'))
      }
      res.writeHead(202).end()
      return
    }
    if (method === 'GET' && (match = /^\/executions\/([^/]+)\/file$/.exec(rest))) {
      const file = executions.get(decodeURIComponent(match[1]))?.files.get(url.searchParams.get('path') ?? '')
      if (!file) throw new HttpError(404, 'Not Found')
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(file)
      return
    }
    if (method === 'GET' && (match = /^\/executions\/([^/]+)$/.exec(rest))) {
      const execution = visible(decodeURIComponent(match[1]))
      if (!execution) throw new HttpError(404, 'Not Found')
      return json(res, 200, execution)
    }
    throw new HttpError(404, 'Page Not Found')
  }

  function saveFlow(source: string): Flow {
    const parsed = parse(source) as Omit<Flow, 'revision' | 'disabled' | 'source'> & { disabled?: boolean }
    const key = `${parsed.namespace}/${parsed.id}`
    const revisions = flows.get(key) ?? []
    const flow: Flow = { ...parsed, disabled: parsed.disabled ?? false, revision: revisions.length + 1, source }
    flows.set(key, [...revisions, flow])
    return flow
  }

  function json(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value))
  }

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    try {
      await route(req, res, Buffer.concat(chunks))
    } catch (error) {
      const status = error instanceof HttpError ? error.status : 500
      const message = error instanceof HttpError ? error.message : `Internal Server Error: ${(error as Error).message}`
      json(res, status, { message, _links: { self: { href: req.url, templated: false } } })
    }
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      for (const timer of timers) clearTimeout(timer)
      server.closeAllConnections()
      server.close()
      await once(server, 'close')
    }
  }
}

async function readForm(req: IncomingMessage, body: Buffer): Promise<{ form: Map<string, string>; fileParts: Map<string, File> }> {
  const form = new Map<string, string>()
  const fileParts = new Map<string, File>()
  if (body.length > 0) {
    const parsed = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body }).formData()
    for (const [name, value] of parsed.entries()) {
      if (typeof value === 'string') form.set(name, value)
      else fileParts.set(name, value)
    }
  }
  return { form, fileParts }
}

interface ReadInput {
  value?: unknown
  given: boolean
  file?: Buffer
  error?: HttpError
}

/** One declared input from the form, as the server reads it: its typed value, or its 422. */
async function readInput(input: FlowInput, text: string | undefined, file: File | undefined, storagePrefix: string): Promise<ReadInput> {
  const given = text !== undefined || file !== undefined
  try {
    if (file && input.type !== 'FILE') throw new HttpError(422, `Invalid entity: Invalid value for input \`${input.id}\`. Cause: a file was sent for a ${input.type} input`)
    if (!given) {
      if (input.defaults !== undefined) return { value: input.defaults, given }
      if (input.required !== false) throw new HttpError(422, `Invalid entity: Missing required input:${input.id}`)
      return { given }
    }
    if (input.type === 'FILE') {
      if (!file) throw new HttpError(422, `Invalid entity: Invalid value for input \`${input.id}\`. Cause: Unable to find file '${text}'`)
      return { value: `kestra:///${storagePrefix.replaceAll('.', '/')}/inputs/${input.id}/${file.name}`, given, file: Buffer.from(await file.arrayBuffer()) }
    }
    return { value: parseInput(input, text ?? ''), given }
  } catch (error) {
    if (error instanceof HttpError) return { given, error }
    throw error
  }
}

function parseInput(input: FlowInput, text: string): unknown {
  const invalid = (cause: string): HttpError => new HttpError(422, `Invalid entity: Invalid value for input \`${input.id}\`. Cause: ${cause}`)
  switch (input.type) {
    case 'INT':
      if (!/^-?\d+$/.test(text)) throw invalid(`For input string: "${text}"`)
      return Number(text)
    case 'FLOAT':
      if (Number.isNaN(Number(text)) || text.trim() === '') throw invalid(`For input string: "${text}"`)
      return Number(text)
    // Boolean.valueOf: anything but "true" is false, silently.
    case 'BOOL':
    case 'BOOLEAN':
      return text.toLowerCase() === 'true'
    case 'JSON':
    case 'ARRAY':
      try {
        const value = JSON.parse(text) as unknown
        if (input.type === 'ARRAY' && !Array.isArray(value)) throw new Error('not an array')
        return value
      } catch (error) {
        throw invalid(`Unrecognized token: ${(error as Error).message}`)
      }
    default:
      return text
  }
}

/** `{{ inputs.x }}` alone gives the input's value; inside text, its text. */
function render(template: string, inputs: Record<string, unknown>): unknown {
  const whole = /^\{\{\s*inputs\.([\w.-]+)\s*\}\}$/.exec(template)
  if (whole) return inputs[whole[1]]
  return template.replace(/\{\{\s*inputs\.([\w.-]+)\s*\}\}/g, (_, name: string) => {
    const value = inputs[name]
    return typeof value === 'string' ? value : JSON.stringify(value)
  })
}
