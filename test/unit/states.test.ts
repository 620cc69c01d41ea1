import { describe, expect, it } from 'vitest'
import { formatDuration } from '../../src/duration.js'
import { isTerminal } from '../../src/orchestrator.js'
import { PREFECT_STATE_TYPES, PREFECT_TERMINAL_STATES, prefectPhase } from '../../src/prefect/states.js'
import { outcomeOf } from '../../src/report.js'

const TABLE = [
  ['SCHEDULED', 'scheduled', false],
  ['PENDING', 'pending', false],
  ['RUNNING', 'running', false],
  ['PAUSED', 'paused', false],
  ['CANCELLING', 'cancelling', false],
  ['COMPLETED', 'succeeded', true],
  ['FAILED', 'failed', true],
  ['CRASHED', 'failed', true],
  ['CANCELLED', 'cancelled', true]
] as const

describe('Prefect states', () => {
  it.each(TABLE)('%s is %s, terminal: %s', (type, phase, terminal) => {
    expect(prefectPhase(type)).toBe(phase)
    expect(isTerminal(phase)).toBe(terminal)
    expect(PREFECT_TERMINAL_STATES.includes(type)).toBe(terminal)
  })

  it('names every state type of the enum in the table above', () => {
    expect([...PREFECT_STATE_TYPES].sort()).toEqual(TABLE.map(([type]) => type).sort())
  })

  it('knows no phase for a state type it has never seen, nor for a state name', () => {
    expect(prefectPhase('AWAITING_APPROVAL')).toBeUndefined()
    expect(prefectPhase('Late')).toBeUndefined()
    expect(prefectPhase('completed')).toBeUndefined()
  })

  it('maps terminal phases to outcomes', () => {
    expect(outcomeOf('succeeded')).toBe('success')
    expect(outcomeOf('failed')).toBe('failed')
    expect(outcomeOf('cancelled')).toBe('cancelled')
  })

  it.each([
    [0, '0s'],
    [59.6, '1m'],
    [61, '1m 1s'],
    [3725, '1h 2m 5s'],
    [7200, '2h']
  ])('formats %d seconds as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text)
  })
})
