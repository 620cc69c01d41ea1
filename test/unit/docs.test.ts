import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse, parseDocument } from 'yaml'

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
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.replaceAll('`', '').trim())
    )
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
      expect(readmeDefault === '(required)', name).toBe(action.inputs[name].required === true)
    }
    expect(action.inputs.orchestrator.required).toBe(true)
  })

  it('list the same outputs, in the same order', () => {
    expect(tableRows('Outputs').map((row) => row[0])).toEqual(Object.keys(action.outputs))
  })

  it('runs the committed bundle on Node 24, for the post step too, which runs only when the job was cancelled', () => {
    expect(action.runs).toEqual({ using: 'node24', main: 'dist/index.js', post: 'dist/index.js', 'post-if': 'cancelled()' })
  })
})

/** README's YAML blocks, each with the line it starts on. */
const yamlBlocks = [...readme.matchAll(/^```ya?ml\n([\s\S]*?)^```$/gm)].map((match) => ({
  text: match[1],
  line: readme.slice(0, match.index).split('\n').length
}))

/** Every mapping in a parsed document, depth first. */
function* mappings(value: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(value)) for (const item of value) yield* mappings(item)
  else if (value !== null && typeof value === 'object') {
    yield value as Record<string, unknown>
    for (const item of Object.values(value)) yield* mappings(item)
  }
}

describe("README's YAML examples, as a user pastes them", () => {
  it('are there to check', () => {
    expect(yamlBlocks.length).toBeGreaterThanOrEqual(8)
  })

  it.each(yamlBlocks.map((block) => [block.line, block.text]))('the block at line %i is valid YAML', (_, text) => {
    const document = parseDocument(text, { uniqueKeys: true })
    expect(document.errors.map((error) => error.message)).toEqual([])
    expect(document.warnings.map((warning) => warning.message)).toEqual([])
  })

  it.each(yamlBlocks.map((block) => [block.line, block.text]))(
    'the block at line %i gives this action only the inputs action.yml declares',
    (_, text) => {
      for (const step of mappings(parse(text))) {
        if (typeof step.uses !== 'string' || !/(^|\/)flow-dispatch@|^\.\/?$/.test(step.uses)) continue
        const given = Object.keys((step.with as Record<string, unknown> | undefined) ?? {})
        expect(given.filter((name) => !(name in action.inputs))).toEqual([])
        expect(given).toContain('orchestrator')
      }
    }
  )

  it.each(yamlBlocks.map((block) => [block.line, block.text]))(
    "the block at line %i pastes no expression into a script: step outputs reach 'run' through env",
    (_, text) => {
      for (const step of mappings(parse(text))) {
        if (typeof step.run === 'string') expect(step.run).not.toContain('${{')
      }
    }
  )
})
