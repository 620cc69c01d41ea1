import { isPlainObject, type JsonObject } from '../mapping.js'

/**
 * The parameter problems Prefect's schema enforcement would refuse, checked
 * before anything is created: JSON Schema's `type`, `enum`, `required`,
 * `items`, `properties`, `anyOf`/`oneOf`/`allOf` and local `$ref`s (what
 * Prefect generates from a flow's signature). Anything else is left to the
 * server rather than guessed at.
 */
export function parameterProblems(parameters: JsonObject, schema: JsonObject): string[] {
  const problems: string[] = []
  const properties = isPlainObject(schema.properties) ? schema.properties : {}
  for (const [name, value] of Object.entries(parameters)) {
    const property = properties[name]
    if (isPlainObject(property)) problems.push(...check(value, property, schema, name))
  }
  return problems
}

/** Required names a run would lack: not given, and no default on the deployment nor in the schema. */
export function missingRequired(parameters: JsonObject, defaults: JsonObject, schema: JsonObject): string[] {
  const required = Array.isArray(schema.required) ? schema.required.filter((n): n is string => typeof n === 'string') : []
  const properties = isPlainObject(schema.properties) ? schema.properties : {}
  return required.filter(
    (name) => !(name in parameters) && !(name in defaults) && !(isPlainObject(properties[name]) && 'default' in properties[name])
  )
}

function check(value: unknown, schema: JsonObject, root: JsonObject, path: string): string[] {
  if (typeof schema.$ref === 'string') {
    const target = resolve(schema.$ref, root)
    return target ? check(value, target, root, path) : []
  }
  if (Array.isArray(schema.anyOf) || Array.isArray(schema.oneOf)) {
    const branches = ((schema.anyOf ?? schema.oneOf) as unknown[]).filter(isPlainObject)
    const results = branches.map((branch) => check(value, branch, root, path))
    if (results.length > 0 && results.every((r) => r.length > 0))
      return [`'${path}' fits none of the allowed forms (${results.map((r) => r[0].replace(/^'[^']*' /, '')).join('; ')})`]
  }
  if (Array.isArray(schema.allOf)) {
    for (const part of schema.allOf.filter(isPlainObject)) {
      const found = check(value, part, root, path)
      if (found.length > 0) return found
    }
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    return [`'${path}' must be one of ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(value)}`]
  }
  const types = typeof schema.type === 'string' ? [schema.type] : Array.isArray(schema.type) ? schema.type : []
  if (types.length > 0 && !types.some((type) => fits(value, String(type)))) {
    return [`'${path}' must be ${types.join(' or ')}; got ${describe(value)}`]
  }
  if (Array.isArray(value) && isPlainObject(schema.items)) {
    return value.flatMap((item, i) => check(item, schema.items as JsonObject, root, `${path}[${i}]`))
  }
  if (isPlainObject(value) && isPlainObject(schema.properties)) {
    const properties = schema.properties
    const nested = Object.entries(value).flatMap(([key, item]) =>
      isPlainObject(properties[key]) ? check(item, properties[key], root, `${path}.${key}`) : []
    )
    const required = Array.isArray(schema.required)
      ? schema.required.filter((n): n is string => typeof n === 'string' && !(n in value))
      : []
    return [...nested, ...required.map((name) => `'${path}.${name}' is required`)]
  }
  return []
}

function fits(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string'
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value)
    case 'number':
      return typeof value === 'number'
    case 'boolean':
      return typeof value === 'boolean'
    case 'array':
      return Array.isArray(value)
    case 'object':
      return isPlainObject(value)
    case 'null':
      return value === null
    default:
      return true
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (isPlainObject(value)) return 'a mapping'
  return `${typeof value} ${JSON.stringify(value)}`
}

/** `#/definitions/X` or `#/$defs/X` in the same schema; other references are left to the server. */
function resolve(ref: string, root: JsonObject): JsonObject | undefined {
  const match = /^#\/(definitions|\$defs)\/(.+)$/.exec(ref)
  const table = match ? root[match[1]] : undefined
  const target = match && isPlainObject(table) ? table[match[2]] : undefined
  return isPlainObject(target) ? target : undefined
}
