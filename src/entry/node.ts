import { createLogger } from '../log/logger.ts'
import { DataDirBusyError } from './data-lock.ts'
import { startEmbedded } from './embedded.ts'
import { DataDirUnusableError, OWNER_ONLY_UMASK } from './owner-only.ts'
import { loadConfig, printBanner, stopOnSignals } from './process-host.ts'
import { ListenError } from './service.ts'

/** `npm start`: the embedded shape, configured from the environment and `.env`. */
process.umask(OWNER_ONLY_UMASK)
const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL)
const server = await startEmbedded(config, logger).catch((error: unknown) => {
  // What the operator can put right is said in a line, with the exit code README
  // "Operations" lists; anything else is a fault of ours, with its stack.
  const exitCode =
    error instanceof DataDirBusyError || error instanceof DataDirUnusableError
      ? 1
      : error instanceof ListenError
        ? 2
        : undefined
  if (exitCode === undefined) throw error
  process.stderr.write(`liveinsight: ${(error as Error).message}\n`)
  process.exit(exitCode)
})
printBanner(server, server.databaseFile)
stopOnSignals(server, logger)
