import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { getConnInfo } from '@hono/node-server/conninfo'
import { type Config, ConfigError, parseConfig } from '../config/env.ts'
import { createApp } from '../http/create-app.ts'
import { Collector } from '../ingest/collector.ts'
import { createLogger } from '../log/logger.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { ensureDefaultSite } from './default-site.ts'

/** The embedded shape: one Node process, one SQLite file, nothing else to run. */
const SWEEP_EVERY_MS = 5 * 60_000

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

const version = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
).version

const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL)
const store = new SqliteStore({
  file: join(config.DATA_DIR, 'liveinsight.db'),
  synchronous: config.SQLITE_SYNCHRONOUS,
})
const { site, generatedKey } = await ensureDefaultSite(store, config.API_KEY, Date.now())
const collector = new Collector(store, {
  sessionTimeoutMs: config.SESSION_TIMEOUT_MINUTES * 60_000,
})
const app = createApp({
  store,
  collector,
  logger,
  version,
  trustProxy: config.TRUST_PROXY,
  socketAddress: (c) => getConnInfo(c).remote.address,
})

const sweep = () =>
  store
    .sweep({ now: Date.now(), eventTtlMs: config.EVENT_TTL_HOURS * 3_600_000 })
    .then((removed) => logger.info({ removed }, 'sweep'))
    .catch((error: unknown) => logger.error({ err: error }, 'sweep failed'))
void sweep()
const sweeper = setInterval(sweep, SWEEP_EVERY_MS)
sweeper.unref()

const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST }, (info) => {
  const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${info.port}`
  logger.info({ port: info.port, url, storage: store.kind, version }, 'listening')
  process.stdout.write(
    [
      '',
      `  LiveInsight ${version} is running at ${url}`,
      `  Data: ${join(config.DATA_DIR, 'liveinsight.db')}`,
      `  Ingest key of the default site${generatedKey ? ' (generated, stored)' : ''}: ${site.api_key}`,
      '  Tracker snippet:',
      `    <script defer src="${url}/liveinsight.js" data-api-key="${site.api_key}"></script>`,
      '',
      '',
    ].join('\n'),
  )
})

let stopping = false
async function shutdown(signal: string) {
  if (stopping) return
  stopping = true
  logger.info({ signal }, 'shutting down')
  server.close()
  await collector.drain()
  await store.close()
  process.exit(0)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
