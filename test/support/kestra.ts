import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse, stringify } from 'yaml'
import { basicAuthorization } from './basic-auth.ts'
import { freePort, startBackground, until } from './processes.ts'

/**
 * A real Kestra OSS server, `server standalone` with in-memory H2, local
 * storage in its own temporary directory, basic auth, usage reports off,
 * loopback only: 1.3 (shared/kestra-server) for the integration tests and the
 * demo, 2.0 (shared/kestra-server-2.0) for the compat smoke tests.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const KESTRA_FLOWS_FILE = join(root, 'test', 'integration', 'kestra', 'flows.yml')

/** Open-source Kestra wants an e-mail as the user and a password with upper and lower case and a digit. */
const KESTRA_CREDENTIALS = { username: 'ci@example.com', password: 'Ci-Passw0rd-42' }

/** Each server's folder and the oldest Java it runs on: 2.0's jars are class-file version 69. */
const SERVERS = {
  '1.3': { folder: 'kestra-server', env: 'KESTRA_SERVER_DIR', java: 21 },
  '2.0': { folder: 'kestra-server-2.0', env: 'KESTRA_2_SERVER_DIR', java: 25 }
} as const

type KestraVersion = keyof typeof SERVERS

/** Beside the project's clone, as the workplace lays it out; KESTRA_SERVER_DIR (1.3) or KESTRA_2_SERVER_DIR (2.0) says otherwise. */
function kestraServerDir(version: KestraVersion = '1.3'): string {
  const { folder, env } = SERVERS[version]
  const dir = resolve(process.env[env] ?? join(root, '..', 'shared', folder))
  if (!existsSync(join(dir, 'start.sh'))) {
    throw new Error(`No Kestra ${version} server at ${dir} (start.sh missing): set ${env} to the folder of shared/${folder}`)
  }
  return dir
}

/** A Java of `major` or newer for the server, installed once per machine where there is none (scripts/kestra-java.sh). */
function kestraJava(major: 21 | 25 = 21): string {
  return execFileSync('bash', [join(root, 'scripts', 'kestra-java.sh'), String(major)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit']
  }).trim()
}

export interface KestraServerOptions {
  credentials?: typeof KESTRA_CREDENTIALS
  /** Which server: 1.3 unless told. */
  version?: KestraVersion
  /** Its folder: kestraServerDir(version) unless given. */
  dir?: string
  /** The java to run it with: kestraJava() of the version's oldest Java unless given. */
  java?: string
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
export async function startKestraServer(options: KestraServerOptions = {}): Promise<KestraServer> {
  const version = options.version ?? '1.3'
  const setup = {
    credentials: options.credentials ?? KESTRA_CREDENTIALS,
    dir: options.dir ?? kestraServerDir(version),
    java: options.java ?? kestraJava(SERVERS[version].java)
  }
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(setup)
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTaken)) throw error
    }
  }
}

class PortTaken extends Error {}

async function startOnce({
  credentials,
  dir,
  java
}: {
  credentials: typeof KESTRA_CREDENTIALS
  dir: string
  java: string
}): Promise<KestraServer> {
  const workDir = mkdtempSync(join(tmpdir(), 'flow-dispatch-kestra-'))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const started = Date.now()
  const server = startBackground('bash', [join(dir, 'start.sh'), String(port)], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KESTRA_JAVA: java,
      KESTRA_DATA_DIR: join(workDir, 'data'),
      KESTRA_USERNAME: credentials.username,
      KESTRA_PASSWORD: credentials.password
    },
    cwd: workDir,
    logFile: join(workDir, 'server.log')
  })
  // The first start on a machine resolves ~130 MB (1.3) or ~112 MB (2.0) of jars from Maven Central before the JVM starts.
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
    // 1.3 answers an existing flow 422 "Flow id already exists", 2.0 409 "Flow '...' already exists".
    if ((response.status === 422 || response.status === 409) && (await response.clone().text()).includes('already exists')) {
      response = await fetch(`${server.url}/api/v1/main/flows/${flow.namespace}/${flow.id}`, { method: 'PUT', headers, body })
    }
    if (!response.ok) throw new Error(`Creating Kestra flow ${flow.namespace}.${flow.id}: ${response.status} ${await response.text()}`)
  }
}
