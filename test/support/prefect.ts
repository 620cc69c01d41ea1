import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { basicAuthorization } from './basic-auth.ts'
import { type Background, freePort, startBackground, until } from './processes.ts'

/**
 * A real Prefect server (SQLite, its own temporary home, loopback only, no
 * analytics) and a real served flow, for the integration tests and the demo.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const FLOW_FILE = join(root, 'test', 'integration', 'prefect', 'it_flow.py')

/** Nothing we start may call out of the machine. */
const QUIET = { DO_NOT_TRACK: '1', PREFECT_SERVER_ANALYTICS_ENABLED: 'false', PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY: 'false' }

/** The venv of a pinned Prefect (scripts/prefect-venv.sh): the newest by default, or that of another requirements file. */
export function prefectVenv(requirements?: string): string {
  const args = [join(root, 'scripts', 'prefect-venv.sh'), ...(requirements ? [requirements] : [])]
  return execFileSync('bash', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
}

export interface PrefectServer {
  apiUrl: string
  authString?: string
  workDir: string
  /** Headers a test needs to read the server directly. */
  headers: Record<string, string>
  stop(): Promise<void>
  /** Stops it and starts it again on the same port, home and database; resolves once it answers /health again. */
  restart(): Promise<void>
  tail(): string
}

function baseEnv(home: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, PREFECT_HOME: home, ...QUIET }
}

/**
 * `streamLogs` turns on the log stream (`/logs/out`), which a self-hosted
 * server has off by default (Prefect Cloud has it on); with it off the socket
 * opens and stays silent.
 */
export async function startPrefectServer(
  venv: string,
  options: { authString?: string; streamLogs?: boolean } = {}
): Promise<PrefectServer> {
  const workDir = mkdtempSync(join(tmpdir(), 'flow-dispatch-prefect-'))
  const port = await freePort()
  const apiUrl = `http://127.0.0.1:${port}/api`
  const env = {
    ...baseEnv(join(workDir, 'server-home')),
    PREFECT_SERVER_API_HOST: '127.0.0.1',
    PREFECT_SERVER_API_PORT: String(port),
    ...(options.authString && { PREFECT_SERVER_API_AUTH_STRING: options.authString }),
    ...(options.streamLogs && { PREFECT_SERVER_LOGS_STREAM_OUT_ENABLED: 'true', PREFECT_SERVER_LOGS_STREAM_PUBLISHING_ENABLED: 'true' })
  }
  const launch = (): Background =>
    startBackground(
      join(venv, 'bin', 'prefect'),
      ['server', 'start', '--no-ui', '--analytics-off', '--host', '127.0.0.1', '--port', String(port)],
      {
        env,
        cwd: workDir,
        logFile: join(workDir, 'server.log')
      }
    )
  let server = launch()
  const healthy = () =>
    until(
      async () => (await fetch(`${apiUrl}/health`)).ok,
      120_000,
      () => `Prefect server did not become healthy:\n${server.tail()}`
    )
  const headers: Record<string, string> = options.authString ? { authorization: basicAuthorization(options.authString) } : {}
  await healthy()
  return {
    apiUrl,
    authString: options.authString,
    workDir,
    headers,
    stop: () => server.stop(),
    async restart() {
      await server.stop()
      server = launch()
      await healthy()
    },
    tail: () => server.tail()
  }
}

/** Serves `it-flow/<deployment>` (and `it-report/<deployment>`) from a process of its own; resolves once it is READY. */
export async function serveFlow(venv: string, server: PrefectServer, deployment: string): Promise<Background> {
  const env = {
    ...baseEnv(join(server.workDir, `serve-home-${deployment}`)),
    PREFECT_API_URL: server.apiUrl,
    PREFECT_RUNNER_POLL_FREQUENCY: '1',
    ...(server.authString && { PREFECT_API_AUTH_STRING: server.authString })
  }
  const serve = startBackground(join(venv, 'bin', 'python'), [FLOW_FILE, deployment], {
    env,
    cwd: dirname(FLOW_FILE),
    logFile: join(server.workDir, `serve-${deployment}.log`)
  })
  // READY once the serve process has polled for work: before that a run would wait, and the action warns.
  await until(
    async () => {
      const response = await fetch(`${server.apiUrl}/deployments/name/it-flow/${deployment}`, { headers: server.headers })
      return response.ok && ((await response.json()) as { status?: string }).status === 'READY'
    },
    120_000,
    () => `The served deployment it-flow/${deployment} did not become READY:\n${serve.tail()}`
  )
  return serve
}
