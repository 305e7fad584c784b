import type { Server, ServerOptions } from 'node:http'
import type { Logger } from '../log/logger.ts'

/**
 * Bounds on how long a client may take to send a request. Node's defaults let a request take
 * 5 minutes and check only every 30 s, so one client holding a half-sent body kept the
 * connection (and a stopping server) open that long. A collector body is at most 64 KiB: 30 s
 * is still generous on a slow mobile link. Once a request is fully received these no longer
 * apply, so the answer to a long commit or an open event stream is never cut.
 */
export const SERVER_TIMEOUTS = {
  /** All the headers, from the connection's first byte. */
  headersTimeout: 10_000,
  /** The whole request, headers and body; Node answers 408 and closes the connection past it. */
  requestTimeout: 30_000,
  /** How often Node looks for connections past those limits (default 30 s). */
  connectionsCheckingInterval: 1_000,
  /** An idle keep-alive connection is closed after this (Node's default, stated here). */
  keepAliveTimeout: 5_000,
} as const satisfies ServerOptions

/**
 * Stops listening and resolves once every connection is gone. Connections idle between
 * requests close at once; requests under way get until `deadlineMs` to finish, and then their
 * connections are closed, whatever they were doing: a client stalled half-way through a body
 * cannot hold a stopping server. A request that had already handed its events over loses
 * only its answer (the events are committed by the pipeline's close, and the tracker's retry
 * is stored once), so nothing that was acknowledged is lost.
 */
export function closeWithDeadline(
  server: Server,
  deadlineMs: number,
  logger: Logger,
): Promise<void> {
  return new Promise((resolve) => {
    const deadline = setTimeout(() => {
      logger.warn({ deadline_ms: deadlineMs }, 'shutdown deadline passed: closing open connections')
      server.closeAllConnections()
    }, deadlineMs)
    server.close(() => {
      clearTimeout(deadline)
      resolve()
    })
  })
}
