import pino from 'pino'
import type { LogOutput } from './log-output.ts'
import { prettyLine } from './pretty-line.ts'

export type Logger = pino.Logger

/**
 * One logger per process, children per request; JSON lines on stdout (or a given stream),
 * or the same lines made readable (log-output.ts chooses). JSON unless asked: the Lambda
 * functions keep it whatever their environment says, as the alarms' metric filters read
 * the JSON's fields.
 *
 * Stdout is written asynchronously: a line goes out at once when no write is in flight, and
 * lines logged meanwhile go out together in the next write, so the thread answering HTTP does
 * not pay two syscalls per request line (bench/NOTES.md). Pino flushes what is left when the
 * process exits; a SIGKILL can lose the lines of the write in flight, never an acknowledged
 * event.
 */
export function createLogger(
  level: string,
  options: Partial<LogOutput> & { destination?: pino.DestinationStream } = {},
): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false })
  return pino(
    { level, base: { service: 'liveinsight' }, timestamp: pino.stdTimeFunctions.isoTime },
    options.format === 'pretty' ? prettyStream(destination, options.colors ?? false) : destination,
  )
}

/**
 * Pino's JSON lines turned into text on their way to `destination`: pino itself is left as
 * it is (its serializers, its redaction), so the pretty text carries exactly the JSON's
 * fields. In this thread, on the same asynchronous stdout, which pino still flushes at exit.
 */
function prettyStream(
  destination: pino.DestinationStream,
  colors: boolean,
): pino.DestinationStream {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) {
        if (line !== '') destination.write(prettyLine(line, colors))
      }
    },
  }
}
