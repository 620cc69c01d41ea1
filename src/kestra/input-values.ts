import { parseAllDocuments, visit } from 'yaml'
import { InputError } from '../errors.js'
import { isPlainObject } from '../mapping.js'

/**
 * What goes in the form field of each input of a Kestra execution, and which
 * values an input's declared type cannot hold. The server parses each field
 * itself (`FlowInputOutput.parseType` in Kestra 1.3), but some bad values it
 * reads as something else instead of refusing them (`Boolean.valueOf` makes
 * "maybe" false, `Float.valueOf` takes "NaN" and "1e39" becomes Infinity, JSON
 * after the first value is dropped, a YAML alias becomes its name, a SELECT
 * that is not required takes any value); those must never reach it. The rules
 * follow what the server accepts, so no value it reads right is refused here.
 */

/** A flow input as `GET /api/v1/{tenant}/flows/{ns}/{id}` gives it; only what the checks read. */
export interface FlowInput {
  id: string
  type: string
  required?: boolean
  defaults?: unknown
  values?: unknown
  /** MULTISELECT's older name for `values`. */
  options?: unknown
  /** Renders SELECT and MULTISELECT values at run time: the declared ones are then not the ones checked. */
  expression?: unknown
  itemType?: string
  allowCustomValue?: boolean
  autoSelectFirst?: boolean
  dependsOn?: unknown
  /** A FORM's own inputs. */
  inputs?: FlowInput[] | null
}

export interface Field {
  name: string
  text: string
  /** The declared type, so a SECRET's text is never shown. */
  type: string
}

/**
 * Kestra's `io.kestra.core.models.flows.Type`, every one of 1.3 and 2.0: 2.0 dropped ENUM and BOOLEAN (BOOL
 * stays) and added ION and REUSABLE_INPUTS.
 */
const TYPES = [
  'STRING',
  'ENUM',
  'SELECT',
  'INT',
  'FLOAT',
  'BOOLEAN',
  'BOOL',
  'DATETIME',
  'DATE',
  'TIME',
  'DURATION',
  'FILE',
  'JSON',
  'URI',
  'SECRET',
  'ARRAY',
  'MULTISELECT',
  'YAML',
  'EMAIL',
  'FORM',
  'ION',
  'REUSABLE_INPUTS'
] as const
type KnownType = (typeof TYPES)[number]

function isKnown(type: string): type is KnownType {
  return (TYPES as readonly string[]).includes(type)
}

/** Thrown by the checks with what the input expects; `formFields` turns it into the user's message. */
class Unfit extends Error {}

function unfit(expected: string): never {
  throw new Unfit(expected)
}

/**
 * The form fields that carry `value` for `input`: none for null (left out, so
 * the flow's default applies), one for most inputs, one per given input for a
 * FORM (the server reads a FORM's inputs as `form.input` fields and ignores a
 * field named after the FORM itself). Throws `InputError('parameters', ...)`
 * for a value the input cannot hold.
 */
export function formFields(input: FlowInput, value: unknown): Field[] {
  if (value === null || value === undefined) return []
  if (input.type === 'FORM') {
    const children = input.inputs ?? []
    if (!isPlainObject(value)) {
      throw new InputError(
        'parameters',
        `${gives(input, value)}, which a FORM input cannot hold: give a mapping of its inputs: ${describeInputs(children)}`
      )
    }
    return Object.entries(value).flatMap(([key, item]) => {
      const child = children.find((c) => c.id === key)
      if (!child)
        throw new InputError(
          'parameters',
          `names '${input.id}.${key}', which FORM '${input.id}' does not declare; its inputs: ${describeInputs(children)}`
        )
      return formFields({ ...child, id: `${input.id}.${child.id}` }, item)
    })
  }
  if (input.type === 'FILE')
    throw new InputError('parameters', `gives '${input.id}', a FILE input: give it in 'files' as ${input.id}=<path>`)
  // Kestra Enterprise (2.0) replaces it on the server with a FORM of a block's inputs, which the flow does not show.
  if (input.type === 'REUSABLE_INPUTS')
    throw new InputError(
      'parameters',
      `gives '${input.id}', a REUSABLE_INPUTS input: its inputs are a block Kestra resolves on the server, which flow-dispatch cannot see to check and send; leave it out, and Kestra fills them in with their defaults or says which it lacks`
    )
  try {
    // Whatever the type, the server drops an empty field as if it were not sent.
    if (value === '') unfit('Kestra takes an empty value as not given; give null to leave the input out')
    return [{ name: input.id, text: asText(accept(input.type, input, value)), type: input.type }]
  } catch (error) {
    if (!(error instanceof Unfit)) throw error
    throw new InputError('parameters', `${gives(input, value)}, which ${article(typeLabel(input))} input cannot hold: ${error.message}`)
  }
}

/** The inputs the server resolves one by one: a FORM's inputs as `form.input`, as Kestra's `Input.expandToLeaves` does. */
export function leafInputs(declared: FlowInput[]): FlowInput[] {
  return declared.flatMap((item) =>
    item.type === 'FORM' ? (item.inputs ?? []).map((child) => ({ ...child, id: `${item.id}.${child.id}` })) : [item]
  )
}

/** The `form.input` names a FORM value gives, so the check for missing required inputs sees them. */
export function givenLeaves(input: FlowInput, value: unknown): string[] {
  if (value === null || value === undefined) return []
  if (input.type === 'FORM' && isPlainObject(value)) {
    return Object.entries(value)
      .filter(([, item]) => item !== null && item !== undefined)
      .map(([key]) => `${input.id}.${key}`)
  }
  return [input.id]
}

export function describeInputs(declared: FlowInput[]): string {
  return declared.map((item) => `${item.id} (${item.type})`).join(', ') || 'none'
}

function gives(input: FlowInput, value: unknown): string {
  return input.type === 'SECRET' ? `gives '${input.id}' a value` : `gives '${input.id}' the value '${show(value)}'`
}

function typeLabel(input: FlowInput): string {
  return input.type === 'ARRAY' && input.itemType ? `ARRAY of ${input.itemType}` : input.type
}

function article(label: string): string {
  // ARRAY, ENUM, EMAIL, INT; "a URI" is said "a you-are-eye".
  return `${/^[AEIO]/.test(label) ? 'an' : 'a'} ${label}`
}

/** The value as the user wrote it, on one line: control characters as JSON escapes. */
function show(value: unknown): string {
  const text = typeof value === 'string' ? value.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1)) : JSON.stringify(value)
  return text.length > 80 ? `${text.slice(0, 79)}…` : text
}

/** Strings go as they are (JSON and YAML text included); the rest as JSON, which numbers and booleans share with their plain text. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value)
}

/**
 * The value to send for `type`: the form field's text is `asText` of it, and
 * an ARRAY's items go as they are in its JSON, where the server parses each
 * one by the item type just as it parses a field.
 */
function accept(type: string, input: FlowInput, value: unknown): unknown {
  // A type newer than Kestra 1.3: the server knows what it holds, we do not; its value goes as the text it always went as.
  if (!isKnown(type)) return value
  switch (type) {
    case 'STRING':
    case 'EMAIL':
    case 'SECRET':
      // The email format and a SECRET's or STRING's validator are the server's to refuse, and it does (422).
      return scalar(value, 'give text; to send this as text, quote it, or declare the input as JSON')
    case 'ENUM':
    case 'SELECT': {
      const allowed = choices(input)
      const text = scalar(value, allowed ? `give one of: ${allowed.join(', ')}` : 'give one value; to send this as text, quote it')
      // Kestra checks the choice only when the input is required; an optional one takes any value.
      if (allowed && !allowed.includes(text)) unfit(`give one of: ${allowed.join(', ')}`)
      return text
    }
    case 'INT':
      return integer(value)
    case 'FLOAT':
      return float(value)
    case 'BOOLEAN':
    case 'BOOL':
      // Boolean.valueOf: anything but "true", in any case, is false.
      if (typeof value === 'boolean') return value
      if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true'
      return unfit('give true or false')
    case 'DATETIME':
      if (typeof value === 'string' && isInstant(value)) return value
      return unfit('give a date and time with a zone, such as 2024-01-31T13:45:00Z or 2024-01-31T13:45:00+02:00')
    case 'DATE':
      if (typeof value === 'string' && isDate(value)) return value
      return unfit('give a date as YYYY-MM-DD, such as 2024-01-31')
    case 'TIME':
      if (typeof value === 'string' && isTime(value)) return value
      return unfit('give a time as HH:MM or HH:MM:SS, such as 13:45 or 13:45:30.5')
    case 'DURATION':
      if (typeof value === 'string' && isDuration(value)) return value
      return unfit('give an ISO 8601 duration in days, hours, minutes and seconds, such as PT30M, PT1H30M, P2D or PT0.5S')
    case 'FILE':
      // Only an ARRAY's items get here: a field is a file part. The server would read any other path from its own disk.
      if (typeof value === 'string' && /^(kestra|nsfile):\/\//.test(value)) return value
      return unfit("give the kestra:// or nsfile:// URI of a file Kestra already stores, or give the file in 'files' as a FILE input")
    case 'JSON':
      if (typeof value === 'string') return jsonText(value)
      return value
    case 'ION':
      // Amazon Ion text, which the server parses (and refuses, 422, when it cannot); JSON, which a mapping or list goes as, is Ion.
      return value
    case 'YAML':
      if (typeof value === 'string') return yamlText(value)
      // JSON is YAML: a mapping or list goes as its JSON text.
      return value
    case 'URI':
      return uri(value)
    case 'ARRAY':
      return list(value, 'give a list, such as [1, 2], or a JSON array', (item) => {
        // Without an item type the server takes the items as they are; with one, it cannot parse a null.
        if (!input.itemType) return item
        return item === null ? unfit('give a value') : accept(input.itemType, { id: input.id, type: input.itemType }, item)
      })
    case 'MULTISELECT': {
      const allowed = choices(input)
      const hint = allowed ? `give a list of values among: ${allowed.join(', ')}` : 'give a list of values, such as [a, b]'
      return list(value, hint, (item) => {
        if (item === null) unfit('give a value')
        const text = scalar(item, 'give one value; to send this as text, quote it')
        if (allowed && !allowed.includes(text)) unfit(`give one of: ${allowed.join(', ')}`)
        // The server parses each value by the item type (STRING unless declared) before it checks the choice.
        if (input.itemType && input.itemType !== 'STRING') accept(input.itemType, { id: input.id, type: input.itemType }, text)
        return text
      })
    }
    case 'FORM':
    case 'REUSABLE_INPUTS':
      // Only an ARRAY's items get here: a FORM field is split into its inputs' fields.
      return unfit(`a ${type} groups inputs and has no value of its own`)
  }
}

/** The declared choices when they are what the server will check: a plain list, not rendered from an expression, no custom values allowed. */
function choices(input: FlowInput): string[] | undefined {
  const values = input.values ?? input.options
  if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) return undefined
  if (typeof input.expression === 'string' || input.allowCustomValue === true) return undefined
  return values
}

/** Text as the server makes it with toString(); a mapping or list would become Java's `{a=1}`. */
function scalar(value: unknown, expected: string): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return String(value)
  return unfit(expected)
}

const INT_RANGE = 'give a whole number from -2147483648 to 2147483647'

/**
 * Integer.valueOf: an optional sign and digits, in int range; no decimals,
 * exponent, hex or spaces. Its digits are Character.digit's: any decimal
 * digit of one UTF-16 unit, so '١٢' is 12 to the server too.
 */
function integer(value: unknown): number | string {
  if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) return value
  if (typeof value === 'string' && /^[+-]?[\p{Nd}]+$/u.test(value) && !/[\u{10000}-\u{10FFFF}]/u.test(value)) {
    const n = BigInt(value.replace(/\p{Nd}/gu, (digit) => String(digitValue(digit))))
    if (n >= -(2n ** 31n) && n < 2n ** 31n) return value
  }
  return unfit(INT_RANGE)
}

/** Unicode encodes decimal digits in runs of ten from zero: a digit's value is its place in its run. */
function digitValue(digit: string): number {
  const code = digit.codePointAt(0) ?? 0
  let before = 0
  while (/\p{Nd}/u.test(String.fromCodePoint(code - before - 1))) before++
  return before % 10
}

/**
 * Float.valueOf also takes NaN, Infinity, hex and f/d suffixes, and turns a
 * number beyond float range into Infinity and one too small into 0: only
 * plain decimals that stay themselves go. It trims spaces, so they may stay.
 */
function float(value: unknown): number | string {
  let text: string
  if (typeof value === 'number') text = String(value)
  else if (typeof value === 'string') text = value.trim()
  else return unfit('give a decimal number such as 1.5, -2 or 1e3')
  const match = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.exec(text)
  if (!match) return unfit('give a decimal number such as 1.5, -2 or 1e3 (not NaN, Infinity, hex or a number with a suffix)')
  const single = Math.fround(Number(text))
  if (!Number.isFinite(single)) return unfit('give a number from -3.4028235e38 to 3.4028235e38: Kestra would read a larger one as Infinity')
  if (single === 0 && /[1-9]/.test(match[1])) return unfit('give 0 or a number at least 1.4e-45 in size: Kestra would read this one as 0')
  return typeof value === 'number' ? value : text
}

/** JSON text, whole: Jackson reads the first value and drops what follows, and takes 1e999 as Infinity. */
function jsonText(text: string): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return unfit('give JSON text, such as {"a": 1}; to give a mapping or a list, write it in YAML without quotes')
  }
  if (!finite(parsed)) unfit('give numbers within double range: Kestra would read a larger one as Infinity')
  return text
}

function finite(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(finite)
  if (isPlainObject(value)) return Object.values(value).every(finite)
  return true
}

/** YAML text, one document: the server keeps only the first, and reads an alias as its name instead of what it points to. */
function yamlText(text: string): string {
  const documents = parseAllDocuments(text)
  if (documents.length === 0 || documents.some((document) => document.errors.length > 0)) {
    return unfit('give YAML text, such as "a: 1"; to give a mapping or a list, write it without quotes')
  }
  if (documents.length > 1) return unfit('give one YAML document: Kestra reads only the first')
  let alias = false
  visit(documents[0], {
    Alias: () => {
      alias = true
      return visit.BREAK
    }
  })
  if (alias) return unfit('write out what each alias (*name) stands for: Kestra does not resolve YAML aliases')
  return text
}

/** What java.net.URI takes, with the scheme Kestra asks for; anything not ASCII but a space or control is allowed raw, as Java does. */
function uri(value: unknown): string {
  const text = scalar(value, 'give a URI such as https://example.com/data.csv')
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:./s.test(text)) return unfit('give an absolute URI with a scheme, such as https://example.com/data.csv')
  if (/[\s\p{Cc}"<>\\^`{|}]/u.test(text) || /%(?![0-9A-Fa-f]{2})/.test(text)) {
    return unfit('percent-encode spaces and the characters " < > \\ ^ ` { | } and a % that does not start an escape such as %20')
  }
  return text
}

/** A YAML list, or a JSON array as text; each item through `item`, which names the item when it refuses it. */
function list(value: unknown, expected: string, item: (value: unknown) => unknown): unknown[] {
  let items = value
  if (typeof value === 'string') {
    try {
      items = JSON.parse(value)
    } catch {
      return unfit(expected)
    }
    // Re-sent as JSON, so the numbers must come through JSON.parse as they were written.
    if (!exact(items)) return unfit(`${expected}, with numbers that are exact as doubles`)
  }
  if (!Array.isArray(items)) return unfit(expected)
  return items.map((element, i) => {
    try {
      return item(element)
    } catch (error) {
      if (!(error instanceof Unfit)) throw error
      return unfit(`item ${i + 1} is '${show(element)}': ${error.message}`)
    }
  })
}

function exact(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value) && (!Number.isInteger(value) || Number.isSafeInteger(value))
  if (Array.isArray(value)) return value.every(exact)
  if (isPlainObject(value)) return Object.values(value).every(exact)
  return true
}

// java.time's ISO parsers, which the server uses: years of 4 digits, or signed ('+' only beyond 4 digits); strict field ranges.
const YEAR = '(\\d{4}|-\\d{4,9}|\\+\\d{5,9})'

function isYear(text: string): boolean {
  return !/^-0+$/.test(text)
}

function isRealDate(year: number, month: number, day: number): boolean {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
  return month >= 1 && month <= 12 && day >= 1 && day <= days[month - 1]
}

function isDate(text: string): boolean {
  const m = new RegExp(`^${YEAR}-(\\d{2})-(\\d{2})$`).exec(text)
  return m !== null && isYear(m[1]) && isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))
}

function isTime(text: string): boolean {
  const m = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{0,9})?)?$/.exec(text)
  return m !== null && Number(m[1]) <= 23 && Number(m[2]) <= 59 && Number(m[3] ?? 0) <= 59
}

/**
 * Instant.parse: a zone is required (Z or an offset up to ±18:00), T and Z in
 * any case. It reads 24:00:00 as the next midnight, which is right, and a leap
 * second :60 as :59, which is not, so :60 is refused.
 */
function isInstant(text: string): boolean {
  const m = new RegExp(
    `^${YEAR}-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})(?:\\.(\\d{0,9}))?(Z|[+-](\\d{2}):(\\d{2})(?::(\\d{2}))?)$`,
    'i'
  ).exec(text)
  if (m === null || !isYear(m[1]) || !isRealDate(Number(m[1]), Number(m[2]), Number(m[3]))) return false
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])]
  const midnight = hour === 24 && minute === 0 && second === 0 && /^0*$/.test(m[7] ?? '')
  if (!(hour <= 23 || midnight) || minute > 59 || second > 59) return false
  if (m[8].toUpperCase() === 'Z') return true
  const [oh, om, os] = [Number(m[9]), Number(m[10]), Number(m[11] ?? 0)]
  return om <= 59 && os <= 59 && oh * 3600 + om * 60 + os <= 18 * 3600
}

const LONG_MAX = 2n ** 63n - 1n

/** Duration.parse: days, hours, minutes and seconds (no weeks, months or years), each part signed, any case, in long seconds. */
function isDuration(text: string): boolean {
  const m = /^([-+]?)P(?:([-+]?[0-9]+)D)?(T(?:([-+]?[0-9]+)H)?(?:([-+]?[0-9]+)M)?(?:([-+]?[0-9]+)(?:[.,][0-9]{0,9})?S)?)?$/i.exec(text)
  if (m === null) return false
  const [, , days, t, hours, minutes, seconds] = m
  if (days === undefined && t === undefined) return false
  if (t !== undefined && hours === undefined && minutes === undefined && seconds === undefined) return false
  const parts: Array<[string | undefined, bigint]> = [
    [days, 86_400n],
    [hours, 3_600n],
    [minutes, 60n],
    [seconds, 1n]
  ]
  let total = 0n
  for (const [part, unit] of parts) {
    if (part === undefined) continue
    const n = BigInt(part)
    if (n > LONG_MAX || n < -LONG_MAX - 1n || n * unit > LONG_MAX || n * unit < -LONG_MAX - 1n) return false
    total += n * unit
  }
  return total <= LONG_MAX && total >= -LONG_MAX - 1n
}
