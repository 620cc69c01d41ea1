import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, beforeEach } from 'vitest'
import { parseOutputFile } from './action.ts'

/**
 * Gives each test a clean environment and real GITHUB_OUTPUT, GITHUB_STATE and
 * GITHUB_STEP_SUMMARY files, so the code under test uses the real @actions/core
 * as on a runner.
 */
export function useActionEnvironment(): {
  setInputs(inputs: Record<string, string>): void
  outputs(): Record<string, string>
  state(): Record<string, string>
  summary(): string
} {
  let saved: NodeJS.ProcessEnv
  let dir = ''
  // One directory a test file: @actions/core's summary keeps the first path it is given.
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flow-dispatch-unit-'))
  })
  beforeEach(() => {
    saved = { ...process.env }
    for (const name of Object.keys(process.env)) {
      if (/^(INPUT_|GITHUB_|PREFECT_|RUNNER_)/.test(name)) delete process.env[name]
    }
    process.env.GITHUB_OUTPUT = join(dir, 'output')
    process.env.GITHUB_STEP_SUMMARY = join(dir, 'summary')
    process.env.GITHUB_STATE = join(dir, 'state')
    writeFileSync(process.env.GITHUB_STATE, '')
    writeFileSync(process.env.GITHUB_OUTPUT, '')
    writeFileSync(process.env.GITHUB_STEP_SUMMARY, '')
    process.exitCode = undefined
  })
  afterEach(() => {
    process.env = saved
    process.exitCode = undefined
  })
  return {
    setInputs(inputs) {
      for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value
    },
    outputs: () => parseOutputFile(readFileSync(join(dir, 'output'), 'utf8')),
    state: () => parseOutputFile(readFileSync(join(dir, 'state'), 'utf8')),
    summary: () => readFileSync(join(dir, 'summary'), 'utf8')
  }
}
