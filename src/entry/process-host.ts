import { existsSync } from 'node:fs'
import { type Config, ConfigError, parseConfig } from '../config/env.ts'
import type { Logger } from '../log/logger.ts'
import { type RunningService, VERSION } from './service.ts'

/** The configuration from the environment and `.env`; a bad value stops the process with its name. */
export function loadConfig(): Config {
  if (existsSync('.env')) process.loadEnvFile('.env')
  try {
    return parseConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`liveinsight: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }
}

/** What a started server prints: where it runs, where its data is, how to sign in and track. */
export function printBanner(server: RunningService, data: string): void {
  process.stdout.write(
    [
      '',
      `  LiveInsight ${VERSION} is running at ${server.url}`,
      `  Dashboard: ${server.url}/   ·   demo site: ${server.url}/demo   ·   API docs: ${server.url}/docs`,
      `  Data: ${data}`,
      server.generatedPassword
        ? `  Dashboard password (generated, shown only now): ${server.generatedPassword}`
        : '  Dashboard password: as set before (ADMIN_PASSWORD, or the one printed on first start)',
      `  Ingest key of the default site${server.generatedKey ? ' (generated, stored)' : ''}: ${server.site.api_key}`,
      '  Tracker snippet:',
      `    <script defer src="${server.url}/liveinsight.js" data-api-key="${server.site.api_key}"></script>`,
      '',
      '',
    ].join('\n'),
  )
}

/** SIGINT and SIGTERM close the server (and whatever `after` stops), then exit. */
export function stopOnSignals(
  server: RunningService,
  logger: Logger,
  after: () => Promise<void> = async () => {},
): void {
  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    await server.close()
    await after()
    process.exit(0)
  }
  process.on('SIGINT', () => void shutdown('SIGINT'))
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
}
