/** The printed table of the cost model (the results file holds everything). */
import type { FrontDoor, fixedMonthly, priceLevel } from './model.ts'

type LevelResult = ReturnType<typeof priceLevel> & { level: string }

const DOOR: Record<FrontDoor, string> = {
  rest_api: 'REST API',
  http_api: 'HTTP API',
  function_url: 'function URL',
  http_api_direct: 'HTTP API, direct',
}

const usd = (n: number) => (n >= 100 ? `$${n.toFixed(0)}` : `$${n.toFixed(3)}`)

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map((r) =>
      r.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '),
    )
    .join('\n')
}

export function report(
  levels: LevelResult[],
  fixed: ReturnType<typeof fixedMonthly>,
  seconds: number,
): string {
  const header = [
    'level',
    'front door',
    'ev/req',
    'DynamoDB',
    'Lambda',
    'Logs',
    'w/o door',
    'door',
    'dash API',
    'total',
    'per month',
  ]
  const rows = levels.map((l) => [
    l.level,
    DOOR[l.front_door],
    l.events_per_request.toFixed(2),
    usd(l.usd_per_million_events.dynamodb),
    usd(l.usd_per_million_events.lambda),
    usd(l.usd_per_million_events.logs),
    usd(l.usd_per_million_events.total_without_front_door),
    usd(l.usd_per_million_events.front_door),
    usd(l.usd_per_million_events.dashboard_api),
    usd(l.usd_per_million_events.total),
    usd(l.usd_per_month.total),
  ])
  const small = levels.find((l) => l.level === '10k')
  const lines = [
    'aws-cost: USD per million events (ap-northeast-2 on demand, free tiers not counted)',
    table([header, ...rows]),
    '',
    small
      ? `  10k events a month: DynamoDB + Lambda + Logs ${small.cents_per_month_dynamodb_lambda_logs.toFixed(2)} cents a month`
      : '',
    `  fixed a month (apart): alarms ${usd(fixed.alarms.usd)} (${fixed.alarms.alarms} alarms, ${fixed.alarms.metrics} metrics), dashboard ${usd(fixed.dashboard.usd)}, WAF ${usd(fixed.waf.usd)}, scheduled functions ${usd(fixed.scheduled_functions.usd)}; total ${usd(fixed.total_usd)}`,
    '  session record (one more write per session):',
    ...levels
      .filter((l) => l.front_door === 'rest_api')
      .map(
        (l) =>
          `    ${l.level}: +${usd(l.session_record.usd_per_million_events)} per million events (${Math.round(l.session_record.sessions_per_month)} sessions a month)`,
      ),
    ...levels
      .filter((l) => l.front_door === 'rest_api' && l.record_packs)
      .flatMap((l) => {
        const r = l.record_packs
        if (!r) return []
        return [
          `    ${l.level}: record packer ${Math.round(r.packer_write_units_per_month)} WRU + ${Math.round(r.packer_read_units_per_month)} RRU a month (+${usd(r.packer_usd_per_million_events)} per million events); a filtered 30-day page ${Math.round(r.filtered_30d_page.read_units_after)} RRU $${r.filtered_30d_page.usd_after.toFixed(5)} (unpacked: ${Math.round(r.filtered_30d_page.read_units_before)} RRU $${r.filtered_30d_page.usd_before.toFixed(5)})`,
        ]
      }),
    '  biggest items (USD a month, REST API):',
    ...levels
      .filter((l) => l.front_door === 'rest_api')
      .map((l) => {
        const items = [
          ...Object.entries(l.by_function_usd_per_month).flatMap(([name, f]) => [
            [`${name} DynamoDB`, f.dynamodb] as const,
            [`${name} Lambda`, f.lambda] as const,
            [`${name} logs`, f.logs] as const,
          ]),
          ['collector front door', l.usd_per_month.front_door] as const,
          ['dashboard API', l.usd_per_month.dashboard_api] as const,
        ]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 4)
          .map(([name, v]) => `${name} ${usd(v)}`)
        return `    ${l.level}: ${items.join(', ')}`
      }),
    `  finished in ${seconds.toFixed(0)} s`,
  ]
  return `${lines.filter((l) => l !== '').join('\n')}\n`
}
