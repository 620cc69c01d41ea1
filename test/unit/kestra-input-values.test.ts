import { describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { type FlowInput, formFields, givenLeaves, leafInputs } from '../../src/kestra/input-values.js'

/** The field texts `value` becomes for an input of `type` (plus its other declarations). */
function fields(type: string, value: unknown, more: Partial<FlowInput> = {}): Array<[string, string]> {
  return formFields({ id: 'x', type, ...more }, value).map((field) => [field.name, field.text])
}

function text(type: string, value: unknown, more: Partial<FlowInput> = {}): string {
  const found = fields(type, value, more)
  expect(found).toHaveLength(1)
  return found[0][1]
}

function refusal(type: string, value: unknown, more: Partial<FlowInput> = {}): string {
  try {
    formFields({ id: 'x', type, ...more }, value)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).input).toBe('parameters')
    return (error as Error).message
  }
  throw new Error(`${type} accepted ${JSON.stringify(value)}`)
}

const INT = 'give a whole number from -2147483648 to 2147483647'
const FLOAT = 'give a decimal number such as 1.5, -2 or 1e3 (not NaN, Infinity, hex or a number with a suffix)'
const DATETIME = 'give a date and time with a zone, such as 2024-01-31T13:45:00Z or 2024-01-31T13:45:00+02:00'
const DATE = 'give a date as YYYY-MM-DD, such as 2024-01-31'
const TIME = 'give a time as HH:MM or HH:MM:SS, such as 13:45 or 13:45:30.5'
const DURATION = 'give an ISO 8601 duration in days, hours, minutes and seconds, such as PT30M, PT1H30M, P2D or PT0.5S'
const JSON_TEXT = 'give JSON text, such as {"a": 1}; to give a mapping or a list, write it in YAML without quotes'
const URI_SCHEME = 'give an absolute URI with a scheme, such as https://example.com/data.csv'
const ARRAY = 'give a list, such as [1, 2], or a JSON array'

describe('formFields', () => {
  it('leaves a null value out, whatever the type', () => {
    for (const type of ['STRING', 'INT', 'BOOL', 'JSON', 'ARRAY', 'FILE', 'FORM', 'NEWTYPE']) expect(fields(type, null)).toEqual([])
  })

  it('refuses an empty value, which the server takes as not given, for every type', () => {
    expect(refusal('STRING', '')).toBe(
      "Input 'parameters' gives 'x' the value '', which a STRING input cannot hold: Kestra takes an empty value as not given; give null to leave the input out"
    )
    expect(refusal('INT', '')).toMatch(/which an INT input cannot hold: Kestra takes an empty value as not given/)
    expect(refusal('NEWTYPE', '')).toMatch(/which a NEWTYPE input cannot hold: Kestra takes an empty value as not given/)
  })

  describe('BOOL and BOOLEAN', () => {
    it.each([
      [true, 'true'],
      [false, 'false'],
      ['true', 'true'],
      ['FALSE', 'false'],
      ['True', 'true']
    ])('sends %j as %s', (value, expected) => {
      expect(text('BOOL', value)).toBe(expected)
      expect(text('BOOLEAN', value)).toBe(expected)
    })

    it.each(['maybe', 'yes', '1', ' true', 'true ', 1, 0, [true], { a: true }])(
      'refuses %j, which the server would read as false',
      (value) => {
        expect(refusal('BOOL', value)).toMatch(/, which a BOOL input cannot hold: give true or false$/)
        expect(refusal('BOOLEAN', value)).toMatch(/, which a BOOLEAN input cannot hold: give true or false$/)
      }
    )

    it('says what it got and what it expects', () => {
      expect(formFieldsError({ id: 'dry', type: 'BOOL' }, 'maybe')).toBe(
        "Input 'parameters' gives 'dry' the value 'maybe', which a BOOL input cannot hold: give true or false"
      )
    })
  })

  describe('INT', () => {
    it.each([
      [3, '3'],
      [-3, '-3'],
      ['3', '3'],
      ['+3', '+3'],
      ['-0', '-0'],
      ['007', '007'],
      ['١٢', '١٢'],
      ['１２', '１２'],
      ['+१२', '+१२'],
      [2147483647, '2147483647'],
      ['-2147483648', '-2147483648']
    ])('sends %j as %s', (value, expected) => expect(text('INT', value)).toBe(expected))

    it.each([
      3.5,
      2147483648,
      -2147483649,
      '2147483648',
      '-2147483649',
      '3.0',
      '1e3',
      '0x10',
      ' 3',
      '3 ',
      'abc',
      '+-3',
      '٢١٤٧٤٨٣٦٤٨',
      '𝟏𝟐',
      '²',
      true,
      [1],
      { a: 1 }
    ])('refuses %j', (value) => {
      expect(refusal('INT', value)).toBe(
        `Input 'parameters' gives 'x' the value '${typeof value === 'string' ? value : JSON.stringify(value)}', which an INT input cannot hold: ${INT}`
      )
    })
  })

  describe('FLOAT', () => {
    it.each([
      [1.5, '1.5'],
      [3, '3'],
      [1e21, '1e+21'],
      ['1.5', '1.5'],
      ['-1.5', '-1.5'],
      ['1e3', '1e3'],
      ['1E-3', '1E-3'],
      ['.5', '.5'],
      ['5.', '5.'],
      ['+2', '+2'],
      ['-0', '-0'],
      ['0', '0'],
      ['1.e3', '1.e3'],
      [' 1.5 ', '1.5'],
      ['3.4028235e38', '3.4028235e38'],
      ['1.4e-45', '1.4e-45']
    ])('sends %j as %s', (value, expected) => expect(text('FLOAT', value)).toBe(expected))

    it.each(['NaN', 'Infinity', '-Infinity', '1f', '1d', '0x1p3', '1,5', '1_000', '1e', 'e3', '.', 'abc', true, [1.5]])(
      'refuses %j, not a plain decimal',
      (value) => {
        expect(refusal('FLOAT', value)).toMatch(/, which a FLOAT input cannot hold: give a decimal number such as 1\.5, -2 or 1e3/)
      }
    )

    it('names what it refuses', () => {
      expect(refusal('FLOAT', 'NaN')).toBe(`Input 'parameters' gives 'x' the value 'NaN', which a FLOAT input cannot hold: ${FLOAT}`)
    })

    it.each(['1e39', '-3.5e38', 1e300])('refuses %j, which the server would read as Infinity', (value) => {
      expect(refusal('FLOAT', value)).toMatch(
        /cannot hold: give a number from -3\.4028235e38 to 3\.4028235e38: Kestra would read a larger one as Infinity$/
      )
    })

    it.each(['1e-50', '1e-400', 1e-300, '0.0000000000000000000000000000000000000000000000001'])(
      'refuses %j, which the server would read as 0',
      (value) => {
        expect(refusal('FLOAT', value)).toMatch(
          /cannot hold: give 0 or a number at least 1\.4e-45 in size: Kestra would read this one as 0$/
        )
      }
    )
  })

  describe('DATETIME', () => {
    it.each([
      '2024-01-01T00:00:00Z',
      '2024-01-01T00:00:00+02:00',
      '2024-01-01T00:00:00-00:00',
      '2024-01-01T00:00:00+05:30',
      '2024-01-01T00:00:00+18:00',
      '2024-01-01T00:00:00+02:00:30',
      '2024-01-01T00:00:00.123456789Z',
      '2024-01-01T00:00:00.5+01:00',
      '2024-01-01T00:00:00.Z',
      '2024-01-01t00:00:00z',
      '2024-01-01T24:00:00Z',
      '2024-01-01T24:00:00.0Z',
      '2024-02-29T12:00:00Z',
      '2000-02-29T12:00:00Z',
      '-2024-01-01T00:00:00Z',
      '+10000-01-01T00:00:00Z',
      '+999999999-01-01T00:00:00Z'
    ])('sends %s as it is', (value) => expect(text('DATETIME', value)).toBe(value))

    it.each([
      '2024-01-01T00:00Z',
      '2024-01-01T00:00:00',
      '2024-01-01 00:00:00Z',
      '2024-01-01',
      '2024-1-01T00:00:00Z',
      '2024-02-30T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-01-01T24:00:01Z',
      '2024-01-01T25:00:00Z',
      '2024-01-01T00:60:00Z',
      '2024-12-31T23:59:60Z',
      '2024-01-01T00:00:00+02',
      '2024-01-01T00:00:00+0200',
      '2024-01-01T00:00:00+1:00',
      '2024-01-01T00:00:00+18:01',
      '2024-01-01T00:00:00+19:00',
      '2024-01-01T00:00:00+17:60',
      '2024-01-01T00:00:00.1234567891Z',
      '2024-01-01T00:00:00[Europe/Paris]',
      '2024-01-01T00:00:00+01:00[Europe/Paris]',
      '+2024-01-01T00:00:00Z',
      '02024-01-01T00:00:00Z',
      '-0000-01-01T00:00:00Z',
      '+1000000000-01-01T00:00:00Z',
      1700000000
    ])('refuses %j', (value) => {
      expect(refusal('DATETIME', value)).toBe(
        `Input 'parameters' gives 'x' the value '${value}', which a DATETIME input cannot hold: ${DATETIME}`
      )
    })
  })

  describe('DATE', () => {
    it.each([
      '2024-01-01',
      '2024-02-29',
      '2000-02-29',
      '0000-01-01',
      '-0001-01-01',
      '+10000-01-01',
      '+999999999-12-31',
      '-999999999-01-01'
    ])('sends %s as it is', (value) => {
      expect(text('DATE', value)).toBe(value)
    })

    it.each([
      '2023-02-29',
      '2100-02-29',
      '2024-13-01',
      '2024-04-31',
      '2024-00-10',
      '2024-01-00',
      '2024-1-1',
      '20240101',
      '2024-01-01T00:00:00Z',
      '2024-01-01 ',
      '+2024-01-01',
      '02024-01-01',
      '+1000000000-01-01',
      20240101
    ])('refuses %j', (value) => {
      expect(refusal('DATE', value)).toBe(`Input 'parameters' gives 'x' the value '${value}', which a DATE input cannot hold: ${DATE}`)
    })
  })

  describe('TIME', () => {
    it.each(['12:30', '00:00', '12:30:45', '23:59:59.999999999', '12:30:45.', '12:30:45.5'])('sends %s as it is', (value) =>
      expect(text('TIME', value)).toBe(value)
    )

    it.each([
      '24:00',
      '23:59:60',
      '12:60',
      '1:30',
      '12:3',
      '12:30Z',
      '12:30+01:00',
      '12:30:45,5',
      '12:30:45.1234567891',
      '12:30.5',
      '1230',
      1230
    ])('refuses %j', (value) => {
      expect(refusal('TIME', value)).toBe(`Input 'parameters' gives 'x' the value '${value}', which a TIME input cannot hold: ${TIME}`)
    })
  })

  describe('DURATION', () => {
    it.each([
      'PT1H',
      'PT1H30M',
      'P1D',
      'P1DT2H',
      'P0D',
      'pt1h',
      'p1d',
      'PT1h30m',
      'PT1.5S',
      'PT1,5S',
      'PT1.S',
      'PT1.000000000S',
      'PT-1H',
      '-PT1H',
      '+PT1H',
      'PT+1H',
      'PT1M-30S',
      'P-1DT1H',
      'PT00001H',
      'P106751991167300D',
      'PT9223372036854775807S'
    ])('sends %s as it is', (value) => expect(text('DURATION', value)).toBe(value))

    it.each([
      'P1W',
      'P1M',
      'P1Y',
      'PT',
      'P',
      'P1DT',
      'PT1H2',
      'PT.5S',
      '1h',
      '30m',
      'PT0.1234567891S',
      'P106751991167301D',
      'P9223372036854775807D',
      'PT9223372036854775808S',
      60
    ])('refuses %j', (value) => {
      expect(refusal('DURATION', value)).toBe(
        `Input 'parameters' gives 'x' the value '${value}', which a DURATION input cannot hold: ${DURATION}`
      )
    })
  })

  describe('JSON', () => {
    it.each([
      [{ a: 1, b: [true, null] }, '{"a":1,"b":[true,null]}'],
      [[1, 'two'], '[1,"two"]'],
      [3, '3'],
      [1.5, '1.5'],
      [true, 'true'],
      ['{"a": 1}', '{"a": 1}'],
      ['  [1, 2]\n', '  [1, 2]\n'],
      ['3', '3'],
      ['"x"', '"x"'],
      ['null', 'null'],
      ['123456789012345678901234567890', '123456789012345678901234567890']
    ])('sends %j as %s', (value, expected) => expect(text('JSON', value)).toBe(expected))

    it.each(['hello', '{a: 1}', "{'a': 1}", '{"a": 1,}', '{"a":1} trailing', '[1,2]]', '1 2', 'NaN', '// c\n{}'])(
      'refuses %j, which is not JSON or has more after it',
      (value) => {
        expect(refusal('JSON', value)).toBe(
          `Input 'parameters' gives 'x' the value '${oneLine(value)}', which a JSON input cannot hold: ${JSON_TEXT}`
        )
      }
    )

    it('refuses a number JSON text cannot hold, which the server would read as Infinity', () => {
      expect(refusal('JSON', '{"a": 1e999}')).toBe(
        `Input 'parameters' gives 'x' the value '{"a": 1e999}', which a JSON input cannot hold: give numbers within double range: Kestra would read a larger one as Infinity`
      )
    })
  })

  describe('YAML', () => {
    it.each([
      [{ a: 1, b: [1, 2] }, '{"a":1,"b":[1,2]}'],
      [[{ a: 1 }], '[{"a":1}]'],
      [3, '3'],
      [true, 'true'],
      ['a: 1', 'a: 1'],
      ['hello', 'hello'],
      ['[1, 2]', '[1, 2]'],
      ['---\na: 1', '---\na: 1'],
      ['a: 1\n...\n', 'a: 1\n...\n'],
      ['a: !!binary aGVsbG8=', 'a: !!binary aGVsbG8=']
    ])('sends %j as %j', (value, expected) => expect(text('YAML', value)).toBe(expected))

    it.each(['a: [', 'key: "unterminated', '\t- tab', 'a: 1\na: 2'])('refuses %j, which is not YAML', (value) => {
      expect(refusal('YAML', value)).toBe(
        `Input 'parameters' gives 'x' the value '${oneLine(value)}', which a YAML input cannot hold: give YAML text, such as "a: 1"; to give a mapping or a list, write it without quotes`
      )
    })

    it('refuses more than one document, of which the server reads only the first, showing the value on one line', () => {
      expect(refusal('YAML', 'a: 1\n---\nb: 2')).toBe(
        "Input 'parameters' gives 'x' the value 'a: 1\\n---\\nb: 2', which a YAML input cannot hold: give one YAML document: Kestra reads only the first"
      )
    })

    it('refuses an alias, which the server reads as its name', () => {
      expect(refusal('YAML', 'a: &x 1\nb: *x')).toMatch(
        /which a YAML input cannot hold: write out what each alias \(\*name\) stands for: Kestra does not resolve YAML aliases$/
      )
    })
  })

  describe('URI', () => {
    it.each([
      'https://example.com/a?b=c',
      'mailto:x@example.com',
      's3://bucket/key',
      'http://example.com/é',
      'http://example.com/a%20b',
      'urn:isbn:0451450523'
    ])('sends %s as it is', (value) => {
      expect(text('URI', value)).toBe(value)
    })

    it.each(['example.com', '/path/x', 'http:', ' https://x.com', 3, true])('refuses %j, which has no scheme', (value) => {
      expect(refusal('URI', value)).toBe(`Input 'parameters' gives 'x' the value '${value}', which a URI input cannot hold: ${URI_SCHEME}`)
    })

    it.each([
      'http://exa mple.com',
      'http://example.com/{x}',
      'http://example.com/%zz',
      'C:\\x',
      'http://x.com/a|b',
      'http://x.com/\u0001'
    ])('refuses %j, which java.net.URI refuses', (value) => {
      expect(refusal('URI', value)).toMatch(
        /which a URI input cannot hold: percent-encode spaces and the characters " < > \\ \^ ` \{ \| \} and a % that does not start an escape such as %20$/
      )
    })

    it('refuses a mapping', () => {
      expect(refusal('URI', { a: 1 })).toBe(
        `Input 'parameters' gives 'x' the value '{"a":1}', which a URI input cannot hold: give a URI such as https://example.com/data.csv`
      )
    })
  })

  describe('STRING, EMAIL and SECRET', () => {
    it.each([
      ['hello', 'hello'],
      [' spaced ', ' spaced '],
      [3, '3'],
      [1.5, '1.5'],
      [true, 'true'],
      ['{"a":1}', '{"a":1}']
    ])('send %j as %s', (value, expected) => {
      for (const type of ['STRING', 'EMAIL', 'SECRET']) expect(text(type, value)).toBe(expected)
    })

    it('leave the email format to the server, which refuses a bad one', () => {
      expect(text('EMAIL', 'not-an-email')).toBe('not-an-email')
    })

    it('refuse a mapping or a list, which the server would turn into Java text such as {a=1}', () => {
      const expected = 'give text; to send this as text, quote it, or declare the input as JSON'
      expect(refusal('STRING', { a: 1 })).toBe(
        `Input 'parameters' gives 'x' the value '{"a":1}', which a STRING input cannot hold: ${expected}`
      )
      expect(refusal('EMAIL', ['a@example.com'])).toBe(
        `Input 'parameters' gives 'x' the value '["a@example.com"]', which an EMAIL input cannot hold: ${expected}`
      )
    })

    it('never show a SECRET value', () => {
      const message = refusal('SECRET', { token: 's3cr3t-value' })
      expect(message).toBe(
        "Input 'parameters' gives 'x' a value, which a SECRET input cannot hold: give text; to send this as text, quote it, or declare the input as JSON"
      )
      expect(message).not.toContain('s3cr3t')
      expect(formFields({ id: 'x', type: 'SECRET' }, 'v')).toEqual([{ name: 'x', text: 'v', type: 'SECRET' }])
    })

    it('cut a long value short in the message', () => {
      expect(refusal('INT', 'a'.repeat(200))).toBe(
        `Input 'parameters' gives 'x' the value '${'a'.repeat(79)}…', which an INT input cannot hold: ${INT}`
      )
    })
  })

  describe('SELECT and ENUM', () => {
    const choices = { values: ['full', 'incremental', '3', 'true'] }

    it.each([
      ['full', 'full'],
      [3, '3'],
      [true, 'true']
    ])('send %j, one of the values, as %s', (value, expected) => {
      expect(text('SELECT', value, choices)).toBe(expected)
      expect(text('ENUM', value, choices)).toBe(expected)
    })

    it('refuse a value not in the list, required or not (the server checks only required ones)', () => {
      for (const required of [true, false]) {
        expect(refusal('SELECT', 'other', { ...choices, required })).toBe(
          "Input 'parameters' gives 'x' the value 'other', which a SELECT input cannot hold: give one of: full, incremental, 3, true"
        )
        expect(refusal('ENUM', 'Full', { ...choices, required })).toBe(
          "Input 'parameters' gives 'x' the value 'Full', which an ENUM input cannot hold: give one of: full, incremental, 3, true"
        )
      }
    })

    it('take any value when custom values are allowed, the values come from an expression or are not a plain list', () => {
      expect(text('SELECT', 'other', { ...choices, allowCustomValue: true })).toBe('other')
      expect(text('SELECT', 'other', { expression: "{{ ['x', 'y'] }}" })).toBe('other')
      expect(text('SELECT', 'other', { ...choices, expression: "{{ ['x', 'y'] }}" })).toBe('other')
      expect(text('SELECT', 'other', { values: "{{ kv('choices') }}" })).toBe('other')
      expect(text('SELECT', 'other')).toBe('other')
    })

    it('refuse a list or a mapping', () => {
      expect(refusal('SELECT', ['full'], choices)).toBe(
        `Input 'parameters' gives 'x' the value '["full"]', which a SELECT input cannot hold: give one of: full, incremental, 3, true`
      )
      expect(refusal('SELECT', { a: 1 })).toBe(
        `Input 'parameters' gives 'x' the value '{"a":1}', which a SELECT input cannot hold: give one value; to send this as text, quote it`
      )
    })
  })

  describe('MULTISELECT', () => {
    const choices = { values: ['a', 'b', 'c', '1'] }

    it.each([
      [['a', 'b'], '["a","b"]'],
      [[], '[]'],
      [['a', 1], '["a","1"]'],
      ['["a", "c"]', '["a","c"]']
    ])('sends %j as %s', (value, expected) => expect(text('MULTISELECT', value, choices)).toBe(expected))

    it('refuses a value not in the list', () => {
      expect(refusal('MULTISELECT', ['a', 'z'], choices)).toBe(
        `Input 'parameters' gives 'x' the value '["a","z"]', which a MULTISELECT input cannot hold: item 2 is 'z': give one of: a, b, c, 1`
      )
    })

    it.each(['a', 'a,b', '["a"] x', '{"a": 1}', 3])('refuses %j, not a list', (value) => {
      expect(refusal('MULTISELECT', value, choices)).toBe(
        `Input 'parameters' gives 'x' the value '${typeof value === 'string' ? value : JSON.stringify(value)}', which a MULTISELECT input cannot hold: give a list of values among: a, b, c, 1`
      )
    })

    it('refuses null and nested items', () => {
      expect(refusal('MULTISELECT', ['a', null], choices)).toMatch(/cannot hold: item 2 is 'null': give a value$/)
      expect(refusal('MULTISELECT', [['a']], choices)).toMatch(
        /cannot hold: item 1 is '\["a"\]': give one value; to send this as text, quote it$/
      )
    })

    it('takes any value when custom values are allowed or the values come from an expression, and reads the older `options`', () => {
      expect(text('MULTISELECT', ['z'], { ...choices, allowCustomValue: true })).toBe('["z"]')
      expect(text('MULTISELECT', ['z'], { ...choices, expression: '{{ x }}' })).toBe('["z"]')
      expect(refusal('MULTISELECT', ['z'], { options: ['a'] })).toMatch(/give one of: a$/)
      expect(refusal('MULTISELECT', 'z')).toMatch(/give a list of values, such as \[a, b\]$/)
    })

    it('checks the values against a declared item type', () => {
      expect(text('MULTISELECT', [1, '2'], { values: ['1', '2'], itemType: 'INT' })).toBe('["1","2"]')
      expect(refusal('MULTISELECT', ['x'], { itemType: 'INT' })).toMatch(`cannot hold: item 1 is 'x': ${INT}`)
    })
  })

  describe('ARRAY', () => {
    it.each([
      [[1, 2], '[1,2]'],
      [['1', '+2'], '["1","+2"]'],
      [[3.0], '[3]'],
      [[], '[]'],
      ['[1, 2]', '[1,2]'],
      ['["1"]', '["1"]']
    ])('of INT sends %j as %s', (value, expected) => expect(text('ARRAY', value, { itemType: 'INT' })).toBe(expected))

    it.each([
      [[1.5], "item 1 is '1.5'"],
      [['x'], "item 1 is 'x'"],
      [[true], "item 1 is 'true'"],
      [[2147483648], "item 1 is '2147483648'"],
      ['[1, "x"]', "item 2 is 'x'"]
    ])('of INT refuses %j', (value, item) => {
      expect(refusal('ARRAY', value, { itemType: 'INT' })).toBe(
        `Input 'parameters' gives 'x' the value '${typeof value === 'string' ? value : JSON.stringify(value)}', which an ARRAY of INT input cannot hold: ${item}: ${INT}`
      )
    })

    it.each(['1,2', '[1,2] x', '{"a": 1}', 3, { a: 1 }])('refuses %j, not a list', (value) => {
      expect(refusal('ARRAY', value, { itemType: 'INT' })).toMatch(
        new RegExp(`which an ARRAY of INT input cannot hold: ${ARRAY.replace(/[[\]]/g, '\\$&')}$`)
      )
    })

    it('refuses a JSON array whose numbers would not come through exactly', () => {
      expect(refusal('ARRAY', '[12345678901234567890]', { itemType: 'STRING' })).toMatch(
        /cannot hold: give a list, such as \[1, 2\], or a JSON array, with numbers that are exact as doubles$/
      )
    })

    it('refuses null items when it has an item type, and takes anything when it has none', () => {
      expect(refusal('ARRAY', [1, null], { itemType: 'INT' })).toMatch(/cannot hold: item 2 is 'null': give a value$/)
      expect(text('ARRAY', [1, null, { a: [2] }, 'x'])).toBe('[1,null,{"a":[2]},"x"]')
    })

    it('checks each item as the server parses it for the item type', () => {
      expect(text('ARRAY', [true, 'FALSE'], { itemType: 'BOOL' })).toBe('[true,false]')
      expect(refusal('ARRAY', ['maybe'], { itemType: 'BOOL' })).toMatch(
        /which an ARRAY of BOOL input cannot hold: item 1 is 'maybe': give true or false$/
      )
      expect(refusal('ARRAY', [1], { itemType: 'BOOL' })).toMatch(/item 1 is '1': give true or false$/)
      expect(text('ARRAY', ['a', 1, true], { itemType: 'STRING' })).toBe('["a","1","true"]')
      expect(refusal('ARRAY', [{ a: 1 }], { itemType: 'STRING' })).toMatch(
        /item 1 is '\{"a":1\}': give text; to send this as text, quote it, or declare the input as JSON$/
      )
      expect(text('ARRAY', [1.5, '2.5', 3], { itemType: 'FLOAT' })).toBe('[1.5,"2.5",3]')
      expect(refusal('ARRAY', ['NaN'], { itemType: 'FLOAT' })).toMatch(/item 1 is 'NaN': give a decimal number/)
      expect(refusal('ARRAY', [1e39], { itemType: 'FLOAT' })).toMatch(/item 1 is '1e\+39': give a number from -3\.4028235e38/)
      expect(text('ARRAY', [{ a: 1 }, '{"b": 2}', 3], { itemType: 'JSON' })).toBe('[{"a":1},"{\\"b\\": 2}",3]')
      expect(refusal('ARRAY', ['x'], { itemType: 'JSON' })).toMatch(/item 1 is 'x': give JSON text/)
      expect(text('ARRAY', ['a: 1', { b: 2 }], { itemType: 'YAML' })).toBe('["a: 1",{"b":2}]')
      expect(refusal('ARRAY', ['a: ['], { itemType: 'YAML' })).toMatch(/item 1 is 'a: \[': give YAML text/)
      expect(text('ARRAY', ['2024-01-01'], { itemType: 'DATE' })).toBe('["2024-01-01"]')
      expect(refusal('ARRAY', ['2024-02-30'], { itemType: 'DATE' })).toMatch(`item 1 is '2024-02-30': ${DATE}`)
      expect(refusal('ARRAY', [20240101], { itemType: 'DATE' })).toMatch(`item 1 is '20240101': ${DATE}`)
      expect(text('ARRAY', ['2024-01-01T00:00:00Z'], { itemType: 'DATETIME' })).toBe('["2024-01-01T00:00:00Z"]')
      expect(text('ARRAY', ['PT1H'], { itemType: 'DURATION' })).toBe('["PT1H"]')
      expect(text('ARRAY', ['12:30'], { itemType: 'TIME' })).toBe('["12:30"]')
      expect(text('ARRAY', ['https://x.com'], { itemType: 'URI' })).toBe('["https://x.com"]')
      expect(refusal('ARRAY', ['x'], { itemType: 'URI' })).toMatch(`item 1 is 'x': ${URI_SCHEME}`)
      expect(text('ARRAY', ['a@example.com'], { itemType: 'EMAIL' })).toBe('["a@example.com"]')
      expect(text('ARRAY', ['', 'x'], { itemType: 'STRING' })).toBe('["","x"]')
    })

    it('of FILE takes only the URIs of files Kestra stores: the server would read a path from its own disk', () => {
      expect(text('ARRAY', ['kestra:///ns/flow/f.csv', 'nsfile:///data.csv'], { itemType: 'FILE' })).toBe(
        '["kestra:///ns/flow/f.csv","nsfile:///data.csv"]'
      )
      for (const path of ['/etc/hostname', 'file:///etc/hostname', 'report.csv']) {
        expect(refusal('ARRAY', [path], { itemType: 'FILE' })).toBe(
          `Input 'parameters' gives 'x' the value '["${path}"]', which an ARRAY of FILE input cannot hold: item 1 is '${path}': give the kestra:// or nsfile:// URI of a file Kestra already stores, or give the file in 'files' as a FILE input`
        )
      }
    })
  })

  describe('FILE', () => {
    it('keeps the message that points to files', () => {
      expect(formFieldsError({ id: 'report', type: 'FILE' }, './r.csv')).toBe(
        "Input 'parameters' gives 'report', a FILE input: give it in 'files' as report=<path>"
      )
    })
  })

  describe('FORM', () => {
    const form: FlowInput = {
      id: 'env',
      type: 'FORM',
      required: true,
      inputs: [
        { id: 'region', type: 'STRING' },
        { id: 'n', type: 'INT', required: false },
        { id: 'doc', type: 'FILE', required: false }
      ]
    }

    it('sends each given input as a form.input field, which is how the server reads them, and leaves nulls out', () => {
      expect(formFields(form, { region: 'eu', n: 3, doc: null })).toEqual([
        { name: 'env.region', text: 'eu', type: 'STRING' },
        { name: 'env.n', text: '3', type: 'INT' }
      ])
    })

    it('checks each input by its type, naming it by its full name', () => {
      expect(formFieldsError(form, { region: 'eu', n: 'x' })).toBe(
        `Input 'parameters' gives 'env.n' the value 'x', which an INT input cannot hold: ${INT}`
      )
      expect(formFieldsError(form, { doc: 'r.csv' })).toBe(
        "Input 'parameters' gives 'env.doc', a FILE input: give it in 'files' as env.doc=<path>"
      )
    })

    it('refuses an input it does not declare, and a value that is not a mapping', () => {
      expect(formFieldsError(form, { zone: 'a' })).toBe(
        "Input 'parameters' names 'env.zone', which FORM 'env' does not declare; its inputs: region (STRING), n (INT), doc (FILE)"
      )
      expect(formFieldsError(form, 'eu')).toBe(
        "Input 'parameters' gives 'env' the value 'eu', which a FORM input cannot hold: give a mapping of its inputs: region (STRING), n (INT), doc (FILE)"
      )
    })

    it('has its inputs as leaves under its name', () => {
      expect(leafInputs([{ id: 'a', type: 'INT' }, form]).map((i) => i.id)).toEqual(['a', 'env.region', 'env.n', 'env.doc'])
      expect(givenLeaves(form, { region: 'eu', n: null })).toEqual(['env.region'])
      expect(givenLeaves({ id: 'a', type: 'INT' }, 3)).toEqual(['a'])
      expect(givenLeaves({ id: 'a', type: 'INT' }, null)).toEqual([])
    })

    it('refuses a FORM as an item type', () => {
      expect(refusal('ARRAY', ['x'], { itemType: 'FORM' })).toMatch(/item 1 is 'x': a FORM groups inputs and has no value of its own$/)
    })
  })

  describe('the types Kestra 2.0 added', () => {
    it.each([
      ['{a: 1, b: [x]}', '{a: 1, b: [x]}'],
      [{ a: 1, b: ['x'] }, '{"a":1,"b":["x"]}'],
      [[1, 2], '[1,2]'],
      [3, '3']
    ])('sends an ION input %j as the text %s: Ion text as it is, anything else as JSON, which is Ion', (value, expected) =>
      expect(text('ION', value)).toBe(expected)
    )

    it('refuses a value for a REUSABLE_INPUTS input, whose inputs only the server knows', () => {
      expect(refusal('REUSABLE_INPUTS', { region: 'eu' })).toBe(
        "Input 'parameters' gives 'x', a REUSABLE_INPUTS input: its inputs are a block Kestra resolves on the server, which flow-dispatch cannot see to check and send; leave it out, and Kestra fills them in with their defaults or says which it lacks"
      )
      expect(refusal('ARRAY', [{ a: 1 }], { itemType: 'REUSABLE_INPUTS' })).toMatch(
        /a REUSABLE_INPUTS groups inputs and has no value of its own$/
      )
    })
  })

  describe('a type newer than the action', () => {
    it.each([
      ['text', 'text'],
      [3, '3'],
      [true, 'true'],
      [{ a: [1] }, '{"a":[1]}']
    ])('passes %j through unchecked as %s', (value, expected) => expect(text('GEOPOINT', value)).toBe(expected))
  })
})

/** A value as messages show it: newlines and tabs escaped. */
function oneLine(value: string): string {
  return value.replace(/\n/g, '\\n').replace(/\t/g, '\\t')
}

function formFieldsError(input: FlowInput, value: unknown): string {
  try {
    formFields(input, value)
  } catch (error) {
    expect(error).toBeInstanceOf(InputError)
    return (error as Error).message
  }
  throw new Error('accepted')
}
