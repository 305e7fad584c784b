import { stdoutLogOutput } from '../log/log-output.ts'
import { createLogger } from '../log/logger.ts'
import { startEmbedded } from './embedded.ts'
import { OWNER_ONLY_UMASK } from './owner-only.ts'
import { loadConfig, printBanner, stopOnSignals } from './process-host.ts'
import { exitOnStartupFailure } from './startup-failure.ts'

/** `npm start`: the embedded shape, configured from the environment and `.env`. */
process.umask(OWNER_ONLY_UMASK)
const config = loadConfig()
const logger = createLogger(config.LOG_LEVEL, stdoutLogOutput(config.LOG_FORMAT))
const server = await startEmbedded(config, logger).catch(exitOnStartupFailure('liveinsight'))
printBanner(server, server.databaseFile)
stopOnSignals(server, logger)
