import { InputError } from './errors.js'

const UNIT_SECONDS: Record<string, number> = { h: 3600, m: 60, s: 1 }

/**
 * Reads `90`, `90s`, `30m`, `2h` or `1h30m` as seconds. A bare number is seconds,
 * as in GitHub's own `timeout-minutes` spirit but at the finer unit.
 */
export function parseDuration(input: string, raw: string): number {
  const text = raw.trim().toLowerCase()
  let seconds: number
  if (/^\d+(\.\d+)?$/.test(text)) {
    seconds = Number(text)
  } else if (/^(\d+(\.\d+)?[hms])+$/.test(text)) {
    seconds = 0
    for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) {
      seconds += Number(amount) * UNIT_SECONDS[unit]
    }
  } else {
    throw new InputError(input, `must be a duration such as '90s', '30m', '2h' or a number of seconds; got '${raw}'`)
  }
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new InputError(input, `must be longer than zero; got '${raw}'`)
  }
  return seconds
}

/** `3725` → `1h 2m 5s`; for logs and the summary. */
export function formatDuration(totalSeconds: number): string {
  const whole = Math.max(0, Math.round(totalSeconds))
  const h = Math.floor(whole / 3600)
  const m = Math.floor((whole % 3600) / 60)
  const s = whole % 60
  const parts = [h ? `${h}h` : '', m ? `${m}m` : '', s || (!h && !m) ? `${s}s` : '']
  return parts.filter(Boolean).join(' ')
}
