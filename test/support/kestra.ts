import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { basicAuthorization } from './basic-auth.ts'
import { freePort, startBackground, until } from './processes.ts'

/**
 * A real Kestra OSS 1.3 server (shared/kestra-server: `server standalone`,
 * in-memory H2, local storage in its own temporary directory, basic auth,
 * usage reports off, loopback only), for the integration tests and the demo.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const KESTRA_FLOWS_FILE = join(root, 'test', 'integration', 'kestra', 'flows.yml')

/** Open-source Kestra wants an e-mail as the user and a password with upper and lower case and a digit. */
const KESTRA_CREDENTIALS = { username: 'ci@example.com', password: 'Ci-Passw0rd-42' }

/** Beside the project's clone, as the workplace lays it out; KESTRA_SERVER_DIR says otherwise. */
function kestraServerDir(): string {
  const dir = resolve(process.env.KESTRA_SERVER_DIR ?? join(root, '..', 'shared', 'kestra-server'))
  if (!existsSync(join(dir, 'start.sh'))) {
    throw new Error(`No Kestra server at ${dir} (start.sh missing): set KESTRA_SERVER_DIR to the folder of shared/kestra-server`)
  }
  return dir
}

/** A Java 21+ for the server, installed once per machine where there is none (scripts/kestra-java.sh). */
function kestraJava(): string {
  return execFileSync('bash', [join(root, 'scripts', 'kestra-java.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
}

export interface KestraServer {
  url: string
  username: string
  password: string
  /** Milliseconds from the start of the JVM to the first answer of /ping. */
  startMs: number
  logFile: string
  stop(): Promise<void>
  tail(lines?: number): string
}

/**
 * The port is free when it is chosen and taken by the JVM some seconds later: another process on the machine
 * may bind it in between. That one failure is worth a new port, at most twice.
 */
export async function startKestraServer(credentials = KESTRA_CREDENTIALS): Promise<KestraServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(credentials)
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTaken)) throw error
    }
  }
}

class PortTaken extends Error {}

async function startOnce(credentials: typeof KESTRA_CREDENTIALS): Promise<KestraServer> {
  const workDir = mkdtempSync(join(tmpdir(), 'flow-dispatch-kestra-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const started = Date.now()
  const server = startBackground('bash', [join(kestraServerDir(), 'start.sh'), String(port)], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KESTRA_JAVA: kestraJava(),
      KESTRA_DATA_DIR: join(workDir, 'data'),
      KESTRA_USERNAME: credentials.username,
      KESTRA_PASSWORD: credentials.password
    },
    cwd: workDir,
    logFile: join(workDir, 'server.log')
  })
  // The first start on a machine resolves ~130 MB of jars from Maven Central before the JVM starts.
  const exited = (): boolean => server.child.exitCode !== null || server.child.signalCode !== null
  try {
    await until(
      async () => exited() || (await fetch(`${url}/ping`)).ok,
      300_000,
      () => `Kestra server did not answer /ping; its log (${server.logFile}):\n${server.tail(60)}`
    )
    if (exited()) {
      const taken = /BindException: Address already in use/.test(server.tail(200))
      throw new (taken ? PortTaken : Error)(
        `Kestra's start.sh exited (${server.child.exitCode ?? server.child.signalCode}) before the server answered; its log (${server.logFile}):\n${server.tail(60)}`
      )
    }
  } catch (error) {
    await server.stop()
    throw error
  }
  return {
    url,
    ...credentials,
    startMs: Date.now() - started,
    logFile: server.logFile,
    stop: () => server.stop(),
    tail: (lines) => server.tail(lines)
  }
}

/** Creates (or, when they exist, updates) the flows of a YAML list through the flows API, as a user would. */
export async function deployFlows(server: KestraServer, file = KESTRA_FLOWS_FILE): Promise<void> {
  const flows = parse(readFileSync(file, 'utf8')) as Array<{ id: string; namespace: string }>
  const headers = { authorization: basicAuthorization(server), 'content-type': 'application/x-yaml' }
  for (const flow of flows) {
    const body = stringify(flow)
    let response = await fetch(`${server.url}/api/v1/main/flows`, { method: 'POST', headers, body })
    if (response.status === 422 && (await response.clone().text()).includes('already exists')) {
      response = await fetch(`${server.url}/api/v1/main/flows/${flow.namespace}/${flow.id}`, { method: 'PUT', headers, body })
    }
    if (!response.ok) throw new Error(`Creating Kestra flow ${flow.namespace}.${flow.id}: ${response.status} ${await response.text()}`)
  }
}
