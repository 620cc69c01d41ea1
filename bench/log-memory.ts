/**
 * Peak memory of the bundled action while it follows a run's log of 1,000 to
 * 300,000 lines, read page by page from a local stand-in for Prefect's
 * `POST /logs/filter` (a real server writing 100,000 lines would measure the
 * server). Prints the figures, and checks every line arrived once, in order.
 *
 *   node bench/log-memory.ts        (Node 24; `npm run bench:logs`)
 */
import { readFileSync } from 'node:fs'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { runAction } from '../test/support/action.ts'

const BASE = Date.parse('2026-11-22T00:00:00Z')
const RUN_ID = '99999999-8888-4777-8666-555555555555'

async function stub(lines: number): Promise<{ url: string; close(): void }> {
  let reads = 0
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    const path = req.url ?? ''
    const state = (type: string) => ({ id: RUN_ID, name: 'bench', state_type: type, state_name: type[0] + type.slice(1).toLowerCase(), state: { type, timestamp: new Date().toISOString() } })
    if (path.startsWith('/api/deployments/name/')) return send(200, { id: 'd', name: 'logs', flow_id: 'f', status: 'READY', parameter_openapi_schema: { properties: {} } })
    if (path.endsWith('/create_flow_run')) return send(201, state('RUNNING'))
    if (path.startsWith('/api/flow_runs/')) return send(200, state(++reads > 3 ? 'COMPLETED' : 'RUNNING'))
    if (path === '/api/logs/filter') {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { logs?: { timestamp?: { after_?: string } }; offset?: number; limit?: number }
      const after = body.logs?.timestamp?.after_
      const first = after ? Math.max(0, Date.parse(after) - BASE) : 0
      const start = first + (body.offset ?? 0)
      const end = Math.min(lines, start + Math.min(body.limit ?? 200, 200))
      const page = []
      for (let i = start; i < end; i++) page.push({ id: `log-${i}`, level: 20, message: `line ${i}`, timestamp: new Date(BASE + i).toISOString(), flow_run_id: RUN_ID })
      return send(200, page)
    }
    send(404, { detail: 'Not Found' })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() }
}

async function measure(lines: number, heapLimitMiB?: number): Promise<{ peakMiB: number; seconds: number }> {
  const server = await stub(lines)
  let peakKiB = 0
  let timer: NodeJS.Timeout | undefined
  const result = await runAction({ orchestrator: 'prefect', url: `${server.url}/api`, deployment: 'bench/logs', 'poll-interval': '1s', timeout: '5m' }, heapLimitMiB ? { NODE_OPTIONS: `--max-old-space-size=${heapLimitMiB}` } : {}, {
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
  if (result.code !== 0 || !inOrder) throw new Error(`${lines} lines: exit ${result.code}, ${seen.length} lines seen, in order: ${inOrder}\n${result.stderr}`)
  return { peakMiB: peakKiB / 1024, seconds: result.elapsedMs / 1000 }
}

// Peak RSS follows how lazily V8 collects; a heap capped small shows what the action really keeps.
const rows = []
for (const lines of [1_000, 10_000, 100_000, 300_000]) {
  for (const heap of [undefined, 32]) rows.push({ lines, heap: heap ? `${heap} MiB` : 'default', ...(await measure(lines, heap)) })
}
console.log('| log lines | V8 old-space limit | peak RSS of the action (MiB) | wall time (s) |\n| ---: | ---: | ---: | ---: |')
for (const row of rows) console.log(`| ${row.lines.toLocaleString('en')} | ${row.heap} | ${row.peakMiB.toFixed(1)} | ${row.seconds.toFixed(1)} |`)
