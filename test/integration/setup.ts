import { existsSync } from 'node:fs'
import type { TestProject } from 'vitest/node'
import { prefectVenv, serveFlow, startPrefectServer } from '../support/prefect.ts'

export interface ServerInfo {
  apiUrl: string
  headers: Record<string, string>
  authString?: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    prefect: ServerInfo
    prefectWithAuth: ServerInfo
  }
}

/** Starts two real Prefect servers, one open and one with basic auth, each serving the test flow. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (Number(process.versions.node.split('.')[0]) < 24) {
    throw new Error(`The integration tests run the bundle as the runner does, under Node 24; this is Node ${process.version}. Run them with 'npm run test:integration'.`)
  }
  if (!existsSync('dist/index.js')) throw new Error("dist/index.js is missing: run 'npm run bundle' first")
  const venv = prefectVenv()
  const started: Array<{ stop(): Promise<void> }> = []
  const teardown = async (): Promise<void> => {
    for (const item of started.reverse()) await item.stop()
  }
  try {
    const [open, locked] = await Promise.all([startPrefectServer(venv), startPrefectServer(venv, { authString: 'ci-admin:s3cret-Pa55' })])
    started.push(open, locked)
    started.push(...(await Promise.all([serveFlow(venv, open, 'it-deployment'), serveFlow(venv, locked, 'it-deployment')])))
    project.provide('prefect', { apiUrl: open.apiUrl, headers: open.headers })
    project.provide('prefectWithAuth', { apiUrl: locked.apiUrl, headers: locked.headers, authString: locked.authString })
  } catch (error) {
    await teardown()
    throw error
  }
  return teardown
}
