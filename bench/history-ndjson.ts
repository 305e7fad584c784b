/**
 * Writes a history file for `npm run import` (README "Importing history"): a month of the
 * query benchmark's synthetic traffic (bench/event-world.ts) as NDJSON, one event per line
 * in time order, ending an hour ago. For measuring the import, not part of any benchmark run:
 *
 *   npx tsx bench/history-ndjson.ts --events 10000000 > /tmp/history-10m.ndjson   # ~4.5 GB
 *   npm run import -- --site default /tmp/history-10m.ndjson
 *
 * Each line carries what another tool's export would: the event as POST /api/events takes
 * it, the browser's user agent, the tool's own visitor key (`visitor`) and the country.
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import type { Site } from '../src/core/types.ts'
import { SiteTraffic } from './event-world.ts'
import { USER_AGENTS } from './traffic.ts'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    days: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
  },
})
const events = Number(values.events)
const days = Number(values.days)
if (!Number.isInteger(events) || events < 1 || !Number.isInteger(days) || days < 1) {
  throw new Error('--events and --days: whole numbers ≥ 1')
}

const site: Site = {
  id: 'default',
  name: 'History',
  domain: 'example.com',
  timezone: 'UTC',
  api_key: 'unused_for_a_history_file',
  created_at: 0,
}
const to = Date.now() - 3_600_000
const traffic = new SiteTraffic({
  site,
  events,
  from: to - days * 86_400_000,
  to,
  seed: Number(values.seed),
})

/** The world's events carry the parsed client only: a user agent per visitor key instead. */
function userAgentOf(visitor: string): string {
  const n = createHash('md5').update(visitor).digest().readUInt32LE(0)
  return USER_AGENTS[n % USER_AGENTS.length] as string
}

// Written in chunks that respect backpressure: a 10 M-line file never sits in memory.
let buffer = ''
for (let event = traffic.next(); event; event = traffic.next()) {
  const line = {
    event_id: event.event_id,
    session_id: event.client_session_id,
    timestamp: event.timestamp,
    event_type: event.event_type,
    page_url: event.page_url,
    referrer: event.referrer,
    title: event.title,
    ...(event.props ? { props: event.props } : {}),
    ...(event.user_id ? { user_id: event.user_id } : {}),
    user_agent: userAgentOf(event.visitor_id),
    visitor: event.visitor_id,
    country: event.country,
  }
  buffer += `${JSON.stringify(line)}\n`
  if (buffer.length > 1 << 20) {
    if (!process.stdout.write(buffer)) {
      await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()))
    }
    buffer = ''
  }
}
process.stdout.write(buffer)
