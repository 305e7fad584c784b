import { createLogger } from '../log/logger.ts'
import { DataDirBusyError } from './data-lock.ts'
import { startEmbedded } from './embedded.ts'
import { OWNER_ONLY_UMASK } from './owner-only.ts'
import { loadConfig, printBanner, stopOnSignals } from './process-host.ts'

/** `npm start`: the embedded shape, configured from the environment and `.env`. */
process.umask(OWNER_ONLY_UMASK)
const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL)
const server = await startEmbedded(config, logger).catch((error: unknown) => {
  if (!(error instanceof DataDirBusyError)) throw error
  process.stderr.write(`liveinsight: ${error.message}\n`)
  process.exit(1)
})
printBanner(server, server.databaseFile)
stopOnSignals(server, logger)
