import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import type { TestProject } from 'vitest/node'
import { startKestraFake } from '../support/kestra-fake.ts'
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
  apiToken: string
}

declare module 'vitest' {
  export interface ProvidedContext {
    prefect: ServerInfo
    prefectWithAuth: ServerInfo
    kestra: KestraInfo
  }
}

/** Open-source Kestra wants an e-mail as the user and a password with upper and lower case and a digit. */
const KESTRA_CREDENTIALS = { username: 'ci@example.com', password: 'Ci-Passw0rd-42', apiToken: 'kestra-test-token-5f2c' }

/**
 * Starts two real Prefect servers, one open and one with basic auth, each
 * serving the test flow, and the Kestra contract fake (no Kestra server can
 * be had on these machines: see README).
 */
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
    const kestra = await startKestraFake(KESTRA_CREDENTIALS)
    started.push({ stop: () => kestra.close() })
    // The test flows, created as a user would: YAML through the flows API.
    const flows = parse(readFileSync(join(import.meta.dirname, 'kestra', 'flows.yml'), 'utf8')) as object[]
    const authorization = `Basic ${Buffer.from(`${KESTRA_CREDENTIALS.username}:${KESTRA_CREDENTIALS.password}`).toString('base64')}`
    for (const flow of flows) {
      const response = await fetch(`${kestra.url}/api/v1/main/flows`, { method: 'POST', headers: { authorization, 'content-type': 'application/x-yaml' }, body: stringify(flow) })
      if (!response.ok) throw new Error(`Creating a test flow: ${response.status} ${await response.text()}`)
    }
    project.provide('kestra', { url: kestra.url, ...KESTRA_CREDENTIALS })
  } catch (error) {
    await teardown()
    throw error
  }
  return teardown
}
