import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/** A port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  server.close()
  await once(server, 'close')
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

export interface Background {
  child: ChildProcess
  logFile: string
  /** SIGTERM to the whole process group, SIGKILL if it lingers. */
  stop(): Promise<void>
  /** The end of its log, for a failure message. */
  tail(lines?: number): string
}

/** Starts a long-running program in its own process group, its output in a file. */
export function startBackground(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; cwd?: string; logFile: string }
): Background {
  const fd = openSync(options.logFile, 'a')
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', fd, fd], detached: true })
  const exited = once(child, 'exit')
  const tail = (lines = 40): string => readFileSync(options.logFile, 'utf8').split('\n').slice(-lines).join('\n')
  return {
    child,
    logFile: options.logFile,
    tail,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return
      signalGroup(child, 'SIGTERM')
      const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
      // Children of the group (flow-run subprocesses) may outlive their parent.
      signalGroup(child, 'SIGKILL')
    }
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error
  }
}

/** Calls `probe` until it returns true, or fails with what `describe` says after `timeoutMs`. */
export async function until(probe: () => Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await probe().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`Gave up after ${timeoutMs / 1000}s: ${describe()}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}
