import { existsSync } from 'node:fs'
import { type Config, ConfigError, parseConfig } from '../config/env.ts'
import { createLogger } from '../log/logger.ts'
import { startEmbedded, VERSION } from './embedded.ts'

/** `npm start`: the embedded shape, configured from the environment and `.env`. */
function loadConfig(): Config {
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

const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL)
const server = await startEmbedded(config, logger)
process.stdout.write(
  [
    '',
    `  LiveInsight ${VERSION} is running at ${server.url}`,
    `  Dashboard: ${server.url}/   ·   demo site: ${server.url}/demo   ·   API docs: ${server.url}/docs`,
    `  Data: ${server.databaseFile}`,
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

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  logger.info({ signal }, 'shutting down')
  await server.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
