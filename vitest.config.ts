import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 }
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/setup.ts'],
          // Real servers and real flow runs: slow, and one at a time on a 2-core machine.
          testTimeout: 120_000,
          hookTimeout: 240_000,
          fileParallelism: false
        }
      },
      {
        test: {
          name: 'compat',
          include: ['test/compat/**/*.test.ts'],
          // No global setup: each file starts and stops its own servers, of the versions it is about.
          testTimeout: 120_000,
          // A server's first start on a machine may fetch its jars (or its Python packages) first.
          hookTimeout: 600_000,
          fileParallelism: false
        }
      }
    ]
  }
})
