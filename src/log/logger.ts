import pino from 'pino'

export type Logger = pino.Logger

/** JSON lines on stdout (or a given stream); one logger per process, children per request. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'liveinsight' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination,
  )
}
