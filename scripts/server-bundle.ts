import type { BuildOptions } from 'esbuild'

/**
 * How server-side code is bundled to run as plain JavaScript: our modules in one ES module
 * file per entry, packages left in node_modules. Shared by the server build
 * (build-server.ts) and the benchmark's bare-Hono floor, so the two run alike.
 */
export const SERVER_BUNDLE = {
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
} as const satisfies BuildOptions
