import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import { type CommonInputs, type Credentials, inputOrEnv, mask, readCredentials } from '../common-inputs.js'
import { InputError } from '../errors.js'
import type { Host } from '../host.js'
import { parseKeyValueLines } from '../mapping.js'

interface FileInput {
  /** The flow input the file is for. */
  input: string
  /** Absolute path, checked to be a readable file. */
  path: string
}

export interface KestraInputs extends CommonInputs {
  orchestrator: 'kestra'
  /** Undefined for servers from before tenants were part of API paths (`tenant: none`). */
  tenant?: string
  namespace: string
  flow: string
  files: FileInput[]
  revision?: number
}

export function readKestraInputs(host: Host, common: CommonInputs): KestraInputs {
  const tenant = inputOrEnv(host, 'tenant', 'KESTRA_TENANT').value || 'main'
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/.test(tenant)) {
    throw new InputError('tenant', `must be a tenant id such as 'main', or 'none' for servers older than 0.23; got '${tenant}'`)
  }
  for (const [key, value] of Object.entries(common.labels)) {
    if (!/^\p{Ll}[\p{L}0-9._-]*$/u.test(key)) {
      throw new InputError(
        'labels',
        `has the key '${key}'; Kestra label keys start with a lower-case letter and hold only letters, digits, '.', '_' and '-'`
      )
    }
    if (key.startsWith('system.')) throw new InputError('labels', `has the key '${key}'; Kestra sets 'system.' labels itself`)
    if (value === '') throw new InputError('labels', `has an empty value for '${key}'; Kestra needs a value`)
  }
  const revision = host.input('revision')
  if (revision !== '' && !/^[1-9]\d*$/.test(revision))
    throw new InputError('revision', `must be a flow revision number (1, 2, ...); got '${revision}'`)
  return {
    orchestrator: 'kestra',
    ...common,
    tenant: /^none$/i.test(tenant) ? undefined : tenant,
    namespace: kestraName(host, 'namespace', /^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ., _ and -'),
    flow: kestraName(host, 'flow', /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, ., _ and -'),
    files: fileInputs(host),
    revision: revision === '' ? undefined : Number(revision)
  }
}

/** The credential inputs, with Kestra's own environment variables as fallbacks. */
export function kestraCredentials(host: Host): Credentials {
  return readCredentials(host, 'KESTRA_API_TOKEN', () => {
    const username = (process.env.KESTRA_USERNAME ?? '').trim()
    const password = (process.env.KESTRA_PASSWORD ?? '').trim()
    mask(host, password)
    return username || password ? { username, password, source: 'KESTRA_USERNAME and KESTRA_PASSWORD' } : undefined
  })
}

function kestraName(host: Host, name: string, pattern: RegExp, allowed: string): string {
  const value = host.input(name)
  if (value === '') throw new InputError(name, 'is required with orchestrator kestra')
  if (!pattern.test(value)) throw new InputError(name, `may hold only ${allowed}; got '${value}'`)
  return value
}

/** `input=path` lines; each path must be a file now, so nothing is created when one is missing. */
function fileInputs(host: Host): FileInput[] {
  const workspace = process.env.GITHUB_WORKSPACE || process.cwd()
  return Object.entries(parseKeyValueLines('files', host.input('files'))).map(([name, path]) => {
    const absolute = resolve(workspace, path)
    if (path === '' || !existsSync(absolute) || !statSync(absolute).isFile()) {
      throw new InputError('files', `gives '${path}' for the input '${name}', which is not a file (looked for ${absolute})`)
    }
    return { input: name, path: absolute }
  })
}
