import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    // One DynamoDB Local for the run, killed by its PID at the end (test/support/).
    globalSetup: ['test/support/dynamodb-local.global.ts'],
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      // node.ts only wires the process (env, signals); it runs in a child process in the crash test.
      // The tracker runs in Chromium (test/tracker.browser.test.ts), out of V8 coverage's sight.
      exclude: [
        'src/**/*.test.ts',
        'src/**/*.contract.ts',
        'src/testing/**',
        'src/entry/node.ts',
        // Its three lines build the handlers from process.env; lambda-handlers.test.ts
        // invokes what they build.
        'src/entry/lambda.ts',
        'src/tracker/**',
      ],
      reporter: ['text-summary', 'json-summary'],
      thresholds: { lines: 80 },
    },
  },
})
