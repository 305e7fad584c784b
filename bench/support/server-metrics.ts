/** The metrics token a benchmark starts the server with, to read /metrics. */
export const BENCH_METRICS_TOKEN = 'bench-metrics-token-0123456789'

/** One gauge's value from the server's /metrics (NaN when absent: the store did not answer). */
export async function serverGauge(url: string, name: string): Promise<number> {
  const res = await fetch(`${url}/metrics`, {
    headers: { authorization: `Bearer ${BENCH_METRICS_TOKEN}` },
  })
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `))
  return line ? Number(line.slice(name.length + 1)) : Number.NaN
}

/** Accepted items waiting for the roll-up. */
export function rollupBacklog(url: string): Promise<number> {
  return serverGauge(url, 'liveinsight_rollup_backlog')
}

/** Seconds since the oldest waiting item was accepted: how far stats trail ingestion. */
export function rollupLagSeconds(url: string): Promise<number> {
  return serverGauge(url, 'liveinsight_rollup_lag_seconds')
}
