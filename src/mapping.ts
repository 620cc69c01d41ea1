import { isAlias, isMap, isScalar, isSeq, type Node, parseDocument } from 'yaml'
import { InputError } from './errors.js'

export type JsonObject = { [key: string]: unknown }

/**
 * Parses a YAML 1.2 (core schema) or JSON mapping. The core schema keeps
 * `2026-11-22` a string and `true`/`3` typed, which is what users of
 * `parameters: |` blocks expect. Values that JSON cannot carry faithfully are
 * refused here, naming where they are, instead of reaching the server changed.
 */
export function parseMapping(input: string, raw: string): JsonObject | undefined {
  if (raw.trim() === '') return undefined
  const value = parseYaml(input, raw, '')
  if (value === null || value === undefined) return undefined
  if (!isPlainObject(value)) {
    const got = Array.isArray(value) ? 'a list' : `a ${typeof value} (${JSON.stringify(value)})`
    throw new InputError(input, `must be a mapping of names to values (name: value), but it is ${got}`)
  }
  return value
}

/**
 * One YAML value, checked as `parseMapping` checks each of its values; `path`
 * names it in messages. For a value given on its own, such as the CLI's
 * `--param name=value`, so it is read exactly as the same text in a mapping.
 */
export function parseYamlValue(input: string, path: string, raw: string): unknown {
  return parseYaml(input, raw, path) ?? null
}

function parseYaml(input: string, raw: string, path: string): unknown {
  const document = parseDocument(raw, { schema: 'core', uniqueKeys: true, strict: true, prettyErrors: true })
  const [error] = document.errors
  if (error) throw new InputError(input, `is not valid YAML or JSON${path === '' ? '' : ` at '${path}'`}: ${error.message}`)
  checkTags(input, document.contents, path)
  // Left over after the tags are checked, a warning still means a value read other than as written: nothing only warns.
  const [warning] = document.warnings
  if (warning) throw new InputError(input, `is not accepted as written: ${warning.message}`)
  const value: unknown = document.toJS()
  checkJsonSafe(input, value, path)
  return value
}

const CORE = 'tag:yaml.org,2002:'

type Kind = 'string' | 'number' | 'boolean' | 'null' | 'list' | 'mapping'

/**
 * The tags JSON carries as written, and what each must hold. The core
 * schema's own tags pass when they hold what they say (`!!int 3`, `!!str 3`,
 * `!!map`), and so does `!`, YAML's "no particular type" (a string for a
 * scalar). `!!float` passes only with a fraction: JSON has one kind of number,
 * so `!!float 1` would reach the server as the integer 1.
 */
const CARRIED: Record<string, (kind: Kind, value: unknown) => boolean> = {
  '!': (kind) => kind === 'string' || kind === 'list' || kind === 'mapping',
  [`${CORE}str`]: (kind) => kind === 'string',
  [`${CORE}bool`]: (kind) => kind === 'boolean',
  [`${CORE}null`]: (kind) => kind === 'null',
  [`${CORE}int`]: (kind) => kind === 'number',
  [`${CORE}float`]: (kind, value) => kind === 'number' && !Number.isInteger(value),
  [`${CORE}map`]: (kind) => kind === 'mapping',
  [`${CORE}seq`]: (kind) => kind === 'list'
}

function kindOf(node: Node): Kind | 'other' {
  if (isMap(node)) return 'mapping'
  if (isSeq(node)) return 'list'
  const value: unknown = isScalar(node) ? node.value : undefined
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
      return typeof value as Kind
    default:
      return 'other'
  }
}

/**
 * Refuses every explicit tag whose value would reach the server other than as
 * written: bytes (`!!binary`), a set or an ordered map sent as `{}`, a time
 * rewritten in UTC, a merge key dropped, or, for a tag the parser cannot
 * resolve (`!foo`, `!!float 1`, `!!bool yes`), the text sent as a string with
 * only a warning on stderr.
 */
function checkTags(input: string, node: Node | null, path: string, isKey = false): void {
  if (node === null || isAlias(node)) return // An alias repeats a node checked where its anchor is.
  const where = `${isKey ? 'on a key ' : ''}${path === '' ? 'at the top' : `at '${path}'`}`
  if (node.tag !== undefined) {
    const kind = kindOf(node)
    const carried = CARRIED[node.tag]
    const value: unknown = isScalar(node) ? node.value : undefined
    if (carried === undefined || kind === 'other' || !carried(kind, value)) {
      throw new InputError(input, `has the tag ${shortTag(node.tag)} ${where}: ${whyRefused(node.tag, kind, value)}`)
    }
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null
      if (key !== null && !isScalar(key) && !isAlias(key)) {
        throw new InputError(input, `has a key that is a list or a mapping ${where}, which JSON cannot carry: keys are names`)
      }
      checkTags(input, key, path, true)
      const name = String(isScalar(key) ? key.value : key)
      checkTags(input, pair.value as Node | null, path === '' ? name : `${path}.${name}`)
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) checkTags(input, item as Node | null, `${path}[${i}]`)
  }
}

const DROP_TAG = 'remove the tag, or quote the value to send it as a string'

function whyRefused(tag: string, kind: Kind | 'other', value: unknown): string {
  if (tag === `${CORE}float` && kind === 'number') {
    return `JSON has no whole-number float, so the server would read the integer ${String(value)}; write a fraction such as 1.5, or drop the tag to send an integer`
  }
  if (tag in CARRIED) {
    const sent = kind === 'list' || kind === 'mapping' ? `a ${kind}` : (JSON.stringify(value) ?? 'something else')
    return `it does not fit what is written there, which would be sent as ${sent}; ${DROP_TAG}`
  }
  switch (tag) {
    case `${CORE}binary`:
      return `it reads the value as bytes, which JSON has no type for; ${DROP_TAG}`
    case `${CORE}set`:
    case `${CORE}omap`:
    case `${CORE}pairs`:
      return 'JSON has no such collection, and it would be sent changed; write a plain list or mapping'
    case `${CORE}merge`:
      return 'a merge key has no meaning in JSON, and the key would be dropped; write the mapping out'
    case `${CORE}timestamp`:
      return `it would be sent rewritten as a time in UTC; ${DROP_TAG}`
    default:
      return `it is not a type of YAML's core schema (str, int, float, bool, null, map, seq), and would be dropped, sending the value as plain text; ${DROP_TAG}`
  }
}

/** `!!binary` rather than `tag:yaml.org,2002:binary`, as a YAML user writes it. */
function shortTag(tag: string): string {
  if (tag.startsWith(CORE)) return `!!${tag.slice(CORE.length)}`
  return tag.startsWith('!') ? tag : `!<${tag}>`
}

function checkJsonSafe(input: string, value: unknown, path: string): void {
  const where = path === '' ? '' : ` at '${path}'`
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new InputError(input, `has ${value}${where}, which JSON cannot represent`)
    }
    if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
      throw new InputError(input, `has the integer ${value}${where}, too large to send exactly; quote it to send a string`)
    }
  } else if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) checkJsonSafe(input, item, `${path}[${i}]`)
  } else if (isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      checkJsonSafe(input, item, path === '' ? key : `${path}.${key}`)
    }
  } else if (!(value === null || typeof value === 'string' || typeof value === 'boolean')) {
    throw new InputError(input, `has a value of type ${typeof value}${where}, which JSON cannot represent`)
  }
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `a, b` or one item a line; blanks dropped, duplicates removed in order. */
export function parseList(raw: string): string[] {
  const items = raw
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
  return [...new Set(items)]
}

/** One `key=value` a line; the value may itself contain `=` and `:`. */
export function parseKeyValueLines(input: string, raw: string): Record<string, string> {
  const result: Record<string, string> = {}
  for (const [index, line] of raw.split('\n').entries()) {
    const text = line.trim()
    if (text === '' || text.startsWith('#')) continue
    const eq = text.indexOf('=')
    const key = eq < 0 ? '' : text.slice(0, eq).trim()
    if (key === '') {
      throw new InputError(input, `line ${index + 1} must be key=value; got '${text}'`)
    }
    if (key in result) {
      throw new InputError(input, `names '${key}' twice (line ${index + 1})`)
    }
    result[key] = text.slice(eq + 1).trim()
  }
  return result
}
