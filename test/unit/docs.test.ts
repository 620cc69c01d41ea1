import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'

/** README's tables and action.yml describe one contract; this keeps them from drifting apart. */
const action = parse(readFileSync('action.yml', 'utf8')) as {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, unknown>
  runs: { using: string; main: string; post?: string; 'post-if'?: string }
}
const readme = readFileSync('README.md', 'utf8')

function tableRows(heading: string): string[][] {
  const section = readme.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? ''
  return section
    .split('\n')
    .filter((line) => /^\| `[^`]+` \|/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.replaceAll('`', '').trim()))
}

describe('README and action.yml', () => {
  it('list the same inputs, in the same order', () => {
    expect(tableRows('Inputs').map((row) => row[0])).toEqual(Object.keys(action.inputs))
  })

  it('state the same defaults, and which inputs are required', () => {
    for (const [name, , description] of tableRows('Inputs')) expect(description, name).toBeTruthy()
    for (const [name, readmeDefault] of tableRows('Inputs')) {
      const declared = action.inputs[name].default
      if (declared !== undefined) expect(readmeDefault, name).toBe(declared)
    }
    expect(action.inputs.orchestrator.required).toBe(true)
  })

  it('list the same outputs, in the same order', () => {
    expect(tableRows('Outputs').map((row) => row[0])).toEqual(Object.keys(action.outputs))
  })

  it('runs the committed bundles on Node 24, the post step only when the job was cancelled', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/post/index.js', 'post-if': 'cancelled()' })
  })
})
