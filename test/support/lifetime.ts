import { afterEach } from 'vitest'

/**
 * `start` for the tests of a file: whatever it starts (a stub server, a
 * proxy) is closed when the test that started it ends, pass or fail.
 */
export function closedAfterEach<A extends unknown[], T extends { close(): Promise<void> }>(
  start: (...args: A) => Promise<T>
): (...args: A) => Promise<T> {
  const open: T[] = []
  afterEach(async () => {
    for (const started of open.splice(0)) await started.close()
  })
  return async (...args) => {
    const started = await start(...args)
    open.push(started)
    return started
  }
}
