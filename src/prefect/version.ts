/**
 * What a Prefect server can take, by its release: read once from
 * `GET /admin/version`. Unknown (Prefect Cloud, or a server that would not
 * say) is taken as the newest, which is what the client did before it asked.
 */

type Release = readonly [major: number, minor: number, patch: number]

export interface PrefectVersion {
  release: Release
  /** As the server gave it, e.g. `2.20.27` or `3.1.12.dev3`. */
  text: string
}

/**
 * Fields of the create-flow-run request (`DeploymentFlowRunCreate` in
 * `server/schemas/actions.py`) by the first release whose server has them,
 * read from each release on PyPI. The others (name, parameters, tags, state,
 * idempotency_key, context, empirical_policy, parent_task_run_id,
 * infrastructure_document_id) are in every 2.x. The model forbids extra
 * fields, so a field the server lacks fails the whole request with a 422.
 */
export const CREATE_FIELD_SINCE = {
  work_queue_name: [2, 12, 0],
  job_variables: [2, 16, 4],
  enforce_parameter_schema: [2, 19, 9],
  labels: [3, 1, 11]
} as const satisfies Record<string, Release>

export type VersionedField = keyof typeof CREATE_FIELD_SINCE

/** `/logs/out`, the log stream: absent before 3.4.7, where the socket is refused at the handshake. */
const LOG_STREAM_SINCE: Release = [3, 4, 7]
/**
 * Flow-run state events on `/events/out`: a 2.x server has the socket but
 * emits the events only with PREFECT_EXPERIMENTAL_EVENTS on (off by
 * default), so there it opens and stays silent; 3.0 emits them always.
 */
const STATE_EVENTS_SINCE: Release = [3, 0, 0]

/** The version `/admin/version` answered (a JSON string), or undefined for anything else. */
export function parsePrefectVersion(answer: unknown): PrefectVersion | undefined {
  if (typeof answer !== 'string') return undefined
  const match = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})(?:[.+-]?[0-9A-Za-z.+-]{0,60})?$/.exec(answer.trim())
  if (!match) return undefined
  return { release: [Number(match[1]), Number(match[2]), Number(match[3])], text: match[0] }
}

/** Whether the server is that release or newer; an unknown one is the newest. */
function atLeast(version: PrefectVersion | undefined, since: Release): boolean {
  if (!version) return true
  for (let i = 0; i < 3; i++) {
    if (version.release[i] !== since[i]) return version.release[i] > since[i]
  }
  return true
}

export function takesField(version: PrefectVersion | undefined, field: VersionedField): boolean {
  return atLeast(version, CREATE_FIELD_SINCE[field])
}

export function hasLogStream(version: PrefectVersion | undefined): boolean {
  return atLeast(version, LOG_STREAM_SINCE)
}

export function hasStateEvents(version: PrefectVersion | undefined): boolean {
  return atLeast(version, STATE_EVENTS_SINCE)
}

export function releaseText(release: Release): string {
  return release.join('.')
}
