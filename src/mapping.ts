import { parse } from 'yaml'
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
  let value: unknown
  try {
    value = parse(raw, { schema: 'core', uniqueKeys: true, strict: true, prettyErrors: true })
  } catch (error) {
    throw new InputError(input, `is not valid YAML or JSON: ${(error as Error).message}`)
  }
  if (value === null || value === undefined) return undefined
  if (!isPlainObject(value)) {
    const got = Array.isArray(value) ? 'a list' : `a ${typeof value} (${JSON.stringify(value)})`
    throw new InputError(input, `must be a mapping of names to values (name: value), but it is ${got}`)
  }
  checkJsonSafe(input, value, '')
  return value
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
