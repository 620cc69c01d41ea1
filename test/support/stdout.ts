import { afterEach, beforeEach, vi } from 'vitest'

/** What the code under test wrote to stdout during each test, where @actions/core writes workflow commands. */
export function captureStdout(): { text(): string; reset(): void } {
  let written = ''
  beforeEach(() => {
    written = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      written += String(chunk)
      return true
    })
  })
  afterEach(() => {
    vi.restoreAllMocks()
  })
  return {
    text: () => written,
    reset: () => {
      written = ''
    }
  }
}

/** What the code under test wrote to stdout (the runner's log) while `body` ran; nothing of it reaches the test's own output. */
export async function printed(body: () => unknown): Promise<string> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  try {
    await body()
    return write.mock.calls.map(([chunk]) => String(chunk)).join('')
  } finally {
    write.mockRestore()
  }
}
