import { describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { InputError } from '../../src/errors.js'
import { parseMapping, parseYamlValue } from '../../src/mapping.js'

/** What the CLI's `--param name=value` gives: each value read on its own, the mapping written back as YAML, read as the input. */
function viaParams(params: Record<string, string>): unknown {
  const mapping = Object.fromEntries(Object.entries(params).map(([name, raw]) => [name, parseYamlValue('param', name, raw)]))
  return parseMapping('parameters', stringify(mapping))
}

describe('parseYamlValue', () => {
  it('reads one value as the same text in a mapping is read, and survives being written back', () => {
    const params = { a: '1', b: 'x', c: '', d: '!!str 1', e: '1.5', f: '[1, {g: true}]', h: '"007"', i: 'null', j: '!!int 0x10' }
    const inMapping = parseMapping(
      'parameters',
      Object.entries(params)
        .map(([name, raw]) => `${name}: ${raw}`)
        .join('\n')
    )
    expect(viaParams(params)).toEqual(inMapping)
    expect(inMapping).toEqual({ a: 1, b: 'x', c: null, d: '1', e: 1.5, f: [1, { g: true }], h: '007', i: null, j: 16 })
  })

  it.each([
    ['!!float 1', /^Input 'param' has the tag !!float at 'ratio': it does not fit what is written there, which would be sent as "1"/],
    ['!!float 2.0', /^Input 'param' has the tag !!float at 'ratio': JSON has no whole-number float/],
    ['!custom x', /^Input 'param' has the tag !custom at 'ratio'/],
    ['!!binary aGk=', /^Input 'param' has the tag !!binary at 'ratio'/],
    ['[1, !!set {a}]', /^Input 'param' has the tag !!set at 'ratio\[1\]'/],
    ['[1, 2', /^Input 'param' is not valid YAML or JSON at 'ratio': /]
  ])('refuses %s, naming the value', (raw, message) => {
    expect(() => parseYamlValue('param', 'ratio', raw)).toThrow(InputError)
    expect(() => parseYamlValue('param', 'ratio', raw)).toThrow(message)
  })
})
