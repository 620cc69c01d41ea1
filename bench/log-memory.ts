/**
 * Peak memory of the bundled action while it follows a run's log of 1,000 to
 * 300,000 lines, from local stand-ins for Prefect's `POST /logs/filter` (read
 * page by page) and Kestra's `GET /logs/{id}/follow` (server-sent events sent
 * as fast as the action takes them); a real server writing 100,000 lines
 * would measure the server. Prints the figures, and checks every line arrived
 * once, in order.
 *
 *   node bench/log-memory.ts        (Node 24; `npm run bench:logs`)
 */
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runAction } from '../test/support/action.ts'

const BASE = Date.parse('2026-11-22T00:00:00Z')
const RUN_ID = '99999999-8888-4777-8666-555555555555'
const EXECUTION_ID = '7BenchLogsExecution0001'

interface Stub {
  url: string
  inputs: Record<string, string>
  close(): void
}

async function listen(server: Server, inputs: (url: string) => Record<string, string>): Promise<Stub> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    inputs: inputs(url),
    close: () => {
      server.closeAllConnections()
      server.close()
    }
  }
}

async function prefect(lines: number): Promise<Stub> {
  let reads = 0
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const path = req.url ?? ''
    const state = (type: string) => ({
      id: RUN_ID,
      name: 'bench',
      state_type: type,
      state_name: type[0] + type.slice(1).toLowerCase(),
      state: { type, timestamp: new Date().toISOString() }
    })
    if (path.startsWith('/api/deployments/name/'))
      return send(200, { id: 'd', name: 'logs', flow_id: 'f', status: 'READY', parameter_openapi_schema: { properties: {} } })
    if (path.endsWith('/create_flow_run')) return send(201, state('RUNNING'))
    if (path.startsWith('/api/flow_runs/')) return send(200, state(++reads > 3 ? 'COMPLETED' : 'RUNNING'))
    if (path === '/api/logs/filter') {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as {
        logs?: { timestamp?: { after_?: string } }
        offset?: number
        limit?: number
      }
      const after = body.logs?.timestamp?.after_
      const first = after ? Math.max(0, Date.parse(after) - BASE) : 0
      const start = first + (body.offset ?? 0)
      const end = Math.min(lines, start + Math.min(body.limit ?? 200, 200))
      const page = []
      for (let i = start; i < end; i++)
        page.push({ id: `log-${i}`, level: 20, message: `line ${i}`, timestamp: new Date(BASE + i).toISOString(), flow_run_id: RUN_ID })
      return send(200, page)
    }
    send(404, { detail: 'Not Found' })
  })
  return listen(server, (url) => ({ orchestrator: 'prefect', url: `${url}/api`, deployment: 'bench/logs' }))
}

async function kestra(lines: number): Promise<Stub> {
  let reads = 0
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const path = req.url ?? ''
    const execution = (state: string) => ({
      id: EXECUTION_ID,
      namespace: 'bench',
      flowId: 'logs',
      flowRevision: 1,
      state: { current: state, histories: [{ state, date: new Date().toISOString() }], startDate: new Date(BASE).toISOString() }
    })
    if (path.startsWith('/api/v1/main/flows/'))
      return send(200, { id: 'logs', namespace: 'bench', revision: 1, disabled: false, inputs: [] })
    if (path.startsWith('/api/v1/main/executions/search')) return send(200, { results: [], total: 0 })
    if (req.method === 'POST') return send(200, execution('CREATED'))
    if (path.startsWith('/api/v1/main/executions/')) return send(200, execution(++reads > 3 ? 'SUCCESS' : 'RUNNING'))
    if (path.endsWith('/follow')) {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write('data: {}\nid: start\n\n')
      // As fast as the action reads: a write the socket cannot take waits for it to drain.
      for (let i = 0; i < lines; i++) {
        const entry = {
          namespace: 'bench',
          flowId: 'logs',
          executionId: EXECUTION_ID,
          timestamp: new Date(BASE + i).toISOString(),
          level: 'INFO',
          thread: 'w',
          message: `line ${i}`
        }
        if (!res.write(`data: ${JSON.stringify(entry)}\nid: progress\n\n`)) await once(res, 'drain')
      }
      return
    }
    send(404, { message: 'Not Found' })
  })
  return listen(server, (url) => ({
    orchestrator: 'kestra',
    url,
    namespace: 'bench',
    flow: 'logs',
    username: 'bench@example.com',
    password: 'Bench-Passw0rd'
  }))
}

async function measure(
  start: (lines: number) => Promise<Stub>,
  lines: number,
  capped: boolean
): Promise<{ peakMiB: number; seconds: number }> {
  const server = await start(lines)
  let peakKiB = 0
  let timer: NodeJS.Timeout | undefined
  const result = await runAction({ ...server.inputs, 'poll-interval': '1s', timeout: '5m' }, capped ? { NODE_OPTIONS: CAPPED } : {}, {
    watch: (_, child) => {
      timer ??= setInterval(() => {
        try {
          const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
          if (hwm) peakKiB = Math.max(peakKiB, Number(hwm[1]))
        } catch (error) {
          // The process has exited between two looks: its last figure stands.
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
        }
      }, 20)
    }
  })
  clearInterval(timer)
  server.close()
  const seen = [...result.stdout.matchAll(/ INFO {5}line (\d+)$/gm)].map((m) => Number(m[1]))
  const inOrder = seen.length === lines && seen.every((n, i) => n === i)
  if (result.code !== 0 || !inOrder)
    throw new Error(`${lines} lines: exit ${result.code}, ${seen.length} lines seen, in order: ${inOrder}\n${result.stderr}`)
  return { peakMiB: peakKiB / 1024, seconds: result.elapsedMs / 1000 }
}

/**
 * Peak RSS follows how far V8 lets its heap grow before it collects: under a
 * flood of short-lived objects it widens the young generation (semi-spaces)
 * up to 16 MiB each by default. Capping both shows what the action keeps.
 */
const CAPPED = '--max-old-space-size=32 --max-semi-space-size=1'
const counts = process.argv[2] ? process.argv[2].split(',').map(Number) : [1_000, 10_000, 100_000, 300_000]
const rows = []
for (const [name, start] of Object.entries({ Prefect: prefect, Kestra: kestra })) {
  for (const lines of counts) {
    for (const capped of [false, true])
      rows.push({ name, lines, heap: capped ? `\`${CAPPED}\`` : 'default', ...(await measure(start, lines, capped)) })
  }
}
console.log('| orchestrator | log lines | V8 heap | peak RSS of the action (MiB) | wall time (s) |\n| --- | ---: | ---: | ---: | ---: |')
for (const row of rows)
  console.log(`| ${row.name} | ${row.lines.toLocaleString('en')} | ${row.heap} | ${row.peakMiB.toFixed(1)} | ${row.seconds.toFixed(1)} |`)
