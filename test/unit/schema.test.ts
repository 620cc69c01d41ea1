import { describe, expect, it } from 'vitest'
import { missingRequired, parameterProblems } from '../../src/prefect/schema.js'

/** Shaped as Prefect generates it from `def flow(date: str, retries: int = 3, mode: Literal['full', 'delta'] = 'full', limit: Optional[int] = None, window: Window, tags: list[str] = [])`. */
const schema = {
  title: 'Parameters',
  type: 'object',
  properties: {
    date: { title: 'date', type: 'string', position: 0 },
    retries: { title: 'retries', type: 'integer', default: 3, position: 1 },
    mode: { title: 'mode', enum: ['full', 'delta'], type: 'string', default: 'full', position: 2 },
    limit: { title: 'limit', anyOf: [{ type: 'integer' }, { type: 'null' }], default: null, position: 3 },
    window: { $ref: '#/definitions/Window', position: 4 },
    tags: { title: 'tags', type: 'array', items: { type: 'string' }, default: [], position: 5 }
  },
  required: ['date', 'window'],
  definitions: { Window: { type: 'object', properties: { days: { type: 'integer' } }, required: ['days'] } }
}

describe('parameterProblems', () => {
  it('accepts parameters that fit', () => {
    expect(
      parameterProblems({ date: '2026-11-22', retries: 1, mode: 'delta', limit: null, window: { days: 7 }, tags: ['a'] }, schema)
    ).toEqual([])
    expect(parameterProblems({ limit: 5, unknown: 'left to the name check' }, schema)).toEqual([])
  })

  it('names each parameter that does not fit, and why', () => {
    expect(
      parameterProblems({ date: 20261122, retries: 1.5, mode: 'partial', limit: 'ten', window: { days: '7' }, tags: ['a', 2] }, schema)
    ).toEqual([
      "'date' must be string; got number 20261122",
      "'retries' must be integer; got number 1.5",
      `'mode' must be one of "full", "delta"; got "partial"`,
      '\'limit\' fits none of the allowed forms (must be integer; got string "ten"; must be null; got string "ten")',
      '\'window.days\' must be integer; got string "7"',
      "'tags[1]' must be string; got number 2"
    ])
    expect(parameterProblems({ window: {} }, schema)).toEqual(["'window.days' is required"])
  })
})

describe('missingRequired', () => {
  it('names required parameters with no value from the run, the deployment or the schema', () => {
    expect(missingRequired({}, {}, schema)).toEqual(['date', 'window'])
    expect(missingRequired({ date: 'x' }, { window: { days: 1 } }, schema)).toEqual([])
  })
})
