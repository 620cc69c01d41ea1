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
