import type { MiddlewareHandler } from 'hono'
import { matchedRoutes } from 'hono/route'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { CollectOutcome } from '../pipeline/collector.ts'
import { rollupLagSeconds } from '../queries/rollup-lag.ts'
import type { RollupProgress, StorageHealth } from '../storage/store.ts'
import type { AppDeps } from './app-env.ts'

/** The label of requests no route took: their paths are anyone's to invent, never a label. */
export const UNMATCHED_ROUTE = 'unmatched'

/**
 * What an operator watches, in Prometheus's text format at `GET /metrics`. Each app has a
 * registry of its own (not prom-client's global one), so two apps in one process (the tests)
 * never share or collide on a counter. Counters count from the process's start; gauges that
 * describe the store are read from it at each scrape, so they are never stale.
 */
export class Metrics {
  readonly registry = new Registry()

  /** Valid events acknowledged, as `accepted` in the collector's answer: duplicates and bots included. */
  private readonly accepted: Counter
  /** Events of a batch refused one by one (`rejected` in the answer); unparseable bodies are HTTP 400s. */
  private readonly rejected: Counter
  private readonly bots: Counter
  private readonly duplicates: Counter
  private readonly commitSeconds: Histogram
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>

  constructor(
    deps: Pick<AppDeps, 'now' | 'version' | 'collector'> & {
      store: StorageHealth & RollupProgress
    },
  ) {
    const registers = [this.registry]
    const counter = (name: string, help: string) => new Counter({ name, help, registers })
    this.accepted = counter(
      'liveinsight_events_accepted_total',
      'Valid events acknowledged to trackers, duplicates and bots included.',
    )
    this.rejected = counter(
      'liveinsight_events_rejected_total',
      'Events of accepted batches refused one by one by validation.',
    )
    this.bots = counter('liveinsight_events_bots_total', 'Acknowledged events sent by bots.')
    this.duplicates = counter(
      'liveinsight_events_duplicates_total',
      'Acknowledged events already stored (tracker retries), stored once.',
    )
    // Counted in requests: a refused request's body is never read, so its events are unknown.
    const { collector } = deps
    const fromCollector = (
      name: string,
      help: string,
      read: (stats: ReturnType<typeof collector.stats>) => number,
    ) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset()
          this.inc(read(collector.stats()))
        },
      })
    fromCollector(
      'liveinsight_requests_rate_limited_total',
      'Collector requests refused by the per-address rate limit (429).',
      (stats) => stats.rateLimitedRequests,
    )
    fromCollector(
      'liveinsight_requests_shed_total',
      'Collector requests refused at once because too much work waited (503).',
      (stats) => stats.shedRequests,
    )
    fromCollector(
      'liveinsight_request_bytes_shed_total',
      'Body bytes of the collector requests shed under overload.',
      (stats) => stats.shedBytes,
    )
    new Gauge({
      name: 'liveinsight_accept_pending_requests',
      help: 'Collector requests handed to the pipeline and not answered yet.',
      registers,
      collect() {
        this.set(collector.stats().pendingRequests)
      },
    })
    this.commitSeconds = new Histogram({
      name: 'liveinsight_accept_commit_seconds',
      help: 'Time from handing a collector request to the pipeline to its answer (parse, validate, commit to disk).',
      // Group commit answers within milliseconds and a fsync or two: fine buckets up to 50 ms,
      // coarse ones above for stalls (a locked database waits up to SQLITE_BUSY_TIMEOUT_MS).
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    })
    this.httpRequests = new Counter({
      name: 'liveinsight_http_requests_total',
      help: 'HTTP answers by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    })

    const { store, now } = deps
    new Gauge({
      name: 'liveinsight_build_info',
      help: 'Always 1; the labels say what runs.',
      labelNames: ['version', 'storage'],
      registers,
    }).set({ version: deps.version, storage: store.kind }, 1)
    new Gauge({
      name: 'liveinsight_storage_up',
      help: '1 when the store answers its health check, 0 when it does not.',
      registers,
      async collect() {
        this.set(
          await store.health().then(
            () => 1,
            () => 0,
          ),
        )
      },
    })
    // While the store cannot answer, these two series are absent rather than stale or made up.
    new Gauge({
      name: 'liveinsight_rollup_backlog',
      help: 'Accepted items waiting for the roll-up into sessions and counters.',
      registers,
      async collect() {
        const backlog = await store.backlog().catch(() => undefined)
        if (backlog === undefined) this.reset()
        else this.set(backlog)
      },
    })
    new Gauge({
      name: 'liveinsight_rollup_lag_seconds',
      help: 'Seconds since the oldest item still waiting for the roll-up was accepted: how far stats trail ingestion (0 when none waits).',
      registers,
      async collect() {
        const lag = await rollupLagSeconds(store, now()).catch(() => undefined)
        if (lag === undefined) this.reset()
        else this.set(lag)
      },
    })
    new Gauge({
      name: 'liveinsight_rollup_set_aside_items',
      help: 'Accepted items the roll-up set aside (dead letters): no counter counts them until they are replayed.',
      registers,
      async collect() {
        const aside = await store.setAside().catch(() => undefined)
        if (aside === undefined) this.reset()
        else this.set(aside?.items ?? 0)
      },
    })
    // Memory, CPU, event-loop delay and GC of the whole process, worker threads included.
    collectDefaultMetrics({ register: this.registry })
  }

  /**
   * Records how a collector request handed to the pipeline at `handedAt` (performance.now())
   * ends. It takes the promise, not the body: nothing here may hold the text until the commit.
   */
  async timeAccept(handedAt: number, accepting: Promise<CollectOutcome>): Promise<CollectOutcome> {
    try {
      const outcome = await accepting
      if ('result' in outcome) {
        const { result } = outcome
        this.accepted.inc(result.accepted)
        this.rejected.inc(result.rejected.length)
        this.bots.inc(result.bots)
        this.duplicates.inc(result.duplicates)
      }
      return outcome
    } finally {
      this.commitSeconds.observe((performance.now() - handedAt) / 1000)
    }
  }

  /** Counts every answer, errors and 404s included, under the pattern of the route it was for. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      await next()
      this.httpRequests.inc({ method: c.req.method, route: routeLabel(c), status: c.res.status })
    }
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}

/**
 * The pattern of the route that handles the request (`/api/sites/:id/rotate-key`): the last
 * matched route registered for a method. Middleware is registered for every method, so a
 * request refused by one (a 401) still counts under the route it asked for.
 */
function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  const routes = matchedRoutes(c)
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i]
    if (route && route.method !== 'ALL') return route.path
  }
  return UNMATCHED_ROUTE
}
