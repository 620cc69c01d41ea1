import { existsSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import { deployFlows, startKestraServer } from '../support/kestra.ts'
import { prefectVenv, serveFlow, startPrefectServer } from '../support/prefect.ts'

export interface ServerInfo {
  apiUrl: string
  headers: Record<string, string>
  authString?: string
}

export interface KestraInfo {
  url: string
  username: string
  password: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    prefect: ServerInfo
    prefectWithAuth: ServerInfo
    kestra: KestraInfo
  }
}

/**
 * Starts two real Prefect servers, one open and one with basic auth, each
 * serving the test flow, and a real Kestra OSS server (shared/kestra-server)
 * with the test flows; stops them all at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    throw new Error(
      `The integration tests run the bundle as the runner does, under Node 24; this is Node ${process.version}. Run them with 'npm run test:integration'.`
    )
  }
  const dist = process.env.FLOW_DISPATCH_DIST ?? 'dist'
  if (!existsSync(`${dist}/index.js`)) throw new Error(`${dist}/index.js is missing: run 'npm run bundle' first`)
  const venv = prefectVenv()
  const started: Array<{ stop(): Promise<void> }> = []
  const teardown = async (): Promise<void> => {
    for (const item of started.reverse()) await item.stop()
  }
  // Kestra's JVM starts beside the Prefect servers; it is stopped with them whatever fails.
  const kestraStarting = startKestraServer()
  kestraStarting.then(
    (kestra) => started.push(kestra),
    () => undefined
  )
  try {
    const [open, locked] = await Promise.all([
      startPrefectServer(venv),
      startPrefectServer(venv, { authString: 'ci-admin:s3cret-Pa55', streamLogs: true })
    ])
    started.push(open, locked)
    started.push(...(await Promise.all([serveFlow(venv, open, 'it-deployment'), serveFlow(venv, locked, 'it-deployment')])))
    project.provide('prefect', { apiUrl: open.apiUrl, headers: open.headers })
    project.provide('prefectWithAuth', { apiUrl: locked.apiUrl, headers: locked.headers, authString: locked.authString })
    const kestra = await kestraStarting
    console.log(`Kestra server ready at ${kestra.url} in ${(kestra.startMs / 1000).toFixed(1)} s (log: ${kestra.logFile})`)
    await deployFlows(kestra)
    project.provide('kestra', { url: kestra.url, username: kestra.username, password: kestra.password })
  } catch (error) {
    await Promise.allSettled([kestraStarting])
    await teardown()
    throw error
  }
  return teardown
}
