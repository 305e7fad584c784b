import pino from 'pino'

export type Logger = pino.Logger

/**
 * JSON lines on stdout (or a given stream); one logger per process, children per request.
 *
 * Stdout is written asynchronously: a line goes out at once when no write is in flight, and
 * lines logged meanwhile go out together in the next write, so the thread answering HTTP does
 * not pay two syscalls per request line (bench/NOTES.md). Pino flushes what is left when the
 * process exits; a SIGKILL can lose the lines of the write in flight, never an acknowledged
 * event.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { service: 'liveinsight' }, timestamp: pino.stdTimeFunctions.isoTime },
    destination ?? pino.destination({ dest: 1, sync: false }),
  )
}
