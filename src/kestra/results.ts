import { isPlainObject, type JsonObject } from '../mapping.js'
import { isOneOf } from '../orchestrator.js'
import type { RunResults, TaskRun } from '../results.js'
import { KESTRA_TERMINAL_STATES, kestraPhase } from './states.js'

/** Task runs read from one execution; a flow with a big loop has thousands, which no summary shows. */
const MAX_TASK_RUNS = 200
/** A loop value can be a whole JSON item: the name shows its start. */
const MAX_VALUE_CHARS = 80
const MAX_NAME_CHARS = 200

/**
 * What an execution (`GET /executions/{id}`) says it produced: its task runs,
 * in the order they started. Kestra keeps no artifacts; the flow's outputs are
 * the run's outputs already. The answer is untrusted: an item that names no
 * task is left out, a field of the wrong type is read as absent.
 */
export function kestraResults(execution: unknown): RunResults {
  const list = isPlainObject(execution) && Array.isArray(execution.taskRunList) ? (execution.taskRunList as unknown[]) : []
  const read = list.flatMap((item) => {
    const run = isPlainObject(item) ? toTaskRun(item) : undefined
    return run ? [run] : []
  })
  // Array sort is stable: runs that started together, and those that never started (last), keep Kestra's order.
  const at = (run: TaskRun): number => (run.start === undefined ? Number.POSITIVE_INFINITY : Date.parse(run.start))
  read.sort((a, b) => {
    const [x, y] = [at(a), at(b)]
    return x < y ? -1 : x > y ? 1 : 0
  })
  return {
    artifacts: [],
    taskRuns: read.slice(0, MAX_TASK_RUNS),
    omitted: { artifacts: 0, taskRuns: Math.max(0, read.length - MAX_TASK_RUNS) }
  }
}

function toTaskRun(item: JsonObject): TaskRun | undefined {
  const id = text(item.id)
  const taskId = text(item.taskId)
  if (id === undefined && taskId === undefined) return undefined
  const value = typeof item.value === 'number' || typeof item.value === 'boolean' ? String(item.value) : text(item.value)
  const name = clip(`${taskId ?? id}${value === undefined ? '' : ` [${clip(value, MAX_VALUE_CHARS)}]`}`, MAX_NAME_CHARS)

  const state = isPlainObject(item.state) ? item.state : {}
  const current = text(state.current) ?? 'UNKNOWN'
  const histories = Array.isArray(state.histories) ? (state.histories as unknown[]) : undefined
  const entries = (histories ?? []).flatMap((entry) => {
    if (!isPlainObject(entry)) return []
    const date = instant(entry.date)
    return date === undefined ? [] : [{ state: entry.state, date }]
  })
  // Kestra's startDate is when the task run was created: it started when it first went RUNNING.
  const start = entries.find((entry) => entry.state === 'RUNNING')?.date
  // Kestra gives a paused task run an endDate too.
  const ended = isOneOf(KESTRA_TERMINAL_STATES, current)
  const end = ended ? (instant(state.endDate) ?? entries.at(-1)?.date) : undefined
  return { id: id ?? '', name, state: current, stateName: current, phase: kestraPhase(current), start, end, seconds: seconds() }

  function seconds(): number | undefined {
    if (start !== undefined && end !== undefined) {
      const ran = (Date.parse(end) - Date.parse(start)) / 1000
      return ran >= 0 ? ran : undefined
    }
    // Kestra's duration runs from the creation, waits included: it stands in only where the histories cannot say whether the task ran.
    return ended && histories === undefined ? isoSeconds(state.duration) : undefined
  }
}

const NUMBER = String.raw`([-+]?\d+(?:[.,]\d*)?)`
const ISO_DURATION = new RegExp(`^([-+])?P(?:${NUMBER}W)?(?:${NUMBER}D)?(?:T(?:${NUMBER}H)?(?:${NUMBER}M)?(?:${NUMBER}S)?)?$`, 'i')
/** Seconds in each of ISO_DURATION's parts: weeks, days, hours, minutes, seconds. */
const UNIT_SECONDS = [604_800, 86_400, 3_600, 60, 1]

/**
 * An ISO 8601 duration in seconds: `PT1.234S` as Java's `Duration` writes it
 * (`PT-0.5S`, `PT26H3M`), with days or weeks, a decimal comma, or a plain
 * number of seconds as some JSON mappers write it. Undefined for anything else
 * and for a negative one.
 */
export function isoSeconds(duration: unknown): number | undefined {
  if (typeof duration === 'number') return Number.isFinite(duration) && duration >= 0 ? duration : undefined
  if (typeof duration !== 'string') return undefined
  const trimmed = duration.trim()
  const match = ISO_DURATION.exec(trimmed)
  // `P` and `PT` alone name no duration, and a `T` names a time after it.
  if (!match || match.slice(2).every((part) => part === undefined) || /T$/i.test(trimmed)) return undefined
  const [, sign, ...parts] = match
  const total = parts.reduce((sum, part, i) => sum + (part === undefined ? 0 : Number(part.replace(',', '.')) * UNIT_SECONDS[i]), 0)
  const seconds = sign === '-' ? -total : total
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined
}

/** A date as ISO 8601 in UTC, whatever form the server wrote it in; undefined for what is not one. */
function instant(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined
}

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 1)}…` : value
}
