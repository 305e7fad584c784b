import type { EnrichedEvent, Site } from '../../core/types.ts'
import type { SqliteExport } from '../../storage/sqlite/export.ts'
import type { CounterReads, EventRecord, Settings, SiteDirectory } from '../../storage/store.ts'
import type { DynamoDbBulkPuts } from './dynamodb-bulk-puts.ts'

export interface MoveResult {
  sites: number
  counter_rows: number
  sessions: number
  events: number
  skipped_sites: string[]
}

/** Where a move goes: the DynamoDB store, and the puts that write moved items as they are. */
export interface MoveTarget {
  store: SiteDirectory & Settings & Pick<CounterReads, 'countersVersion'>
  puts: DynamoDbBulkPuts
}

/** A raw event row as the DynamoDB store keeps it: the fields a row lacks are not read again. */
function asEnriched(record: EventRecord, site: Site): EnrichedEvent {
  let host = ''
  try {
    host = new URL(record.page_url).host
  } catch {
    // A stored URL was validated on the way in; an odd one keeps an empty host.
  }
  return {
    ...record,
    timezone: site.timezone,
    host,
    // Only the roll-up reads it, and moved events were rolled up already.
    referrer_host: '',
    channel: '',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    utm_term: '',
    utm_content: '',
    os: '',
    screen: '',
  }
}

/**
 * Moves an embedded install into the DynamoDB store: sites, settings (the dashboard
 * password's hash and the token key, so signing in works as before), daily salts (so today's
 * visitor ids stay the same), every counter row, every session with its events in the
 * record (the first MAX_RECORD_EVENTS of each, as DynamoDB keeps them) and the site's
 * record item, and the raw events still within the TTL, for timelines and the live view. Counters are put as they are, not added,
 * so moving again changes nothing; a site that already has counters in DynamoDB (traffic
 * went there) is skipped rather than overwritten. Today's visitor marks stay behind (the
 * embedded store keeps them as hashes): a visitor seen before the move and again after it on
 * the same day is counted twice that day.
 */
export async function moveToDynamoDb(
  from: SqliteExport,
  to: MoveTarget,
  options: { now: number; eventTtlMs: number },
): Promise<MoveResult> {
  const result: MoveResult = {
    sites: 0,
    counter_rows: 0,
    sessions: 0,
    events: 0,
    skipped_sites: [],
  }
  const { store, puts } = to
  for (const { name, value } of from.settings()) await store.putSetting(name, value)
  for (const { day, salt } of from.salts()) await puts.putSalt(day, salt)
  for (const site of from.sites()) {
    const existing = await store.getSite(site.id)
    // Counters here that a move did not leave as they are: traffic came here since.
    const version = await store.countersVersion(site.id)
    if (
      existing &&
      version > 0 &&
      (await store.getSetting(`moved:${site.id}`)) !== String(version)
    ) {
      result.skipped_sites.push(site.id)
      continue
    }
    if (!existing) await store.createSite(site)
    for (const grain of ['day', 'hour'] as const) {
      for (const rows of from.counterRows(site.id, grain)) {
        puts.addCounterRows(site.id, grain, rows)
        result.counter_rows += rows.length
      }
    }
    await puts.putCounterSummaries(site.id)
    // With their events in the record: the filters over the past answer the same there.
    const record = from.recordSite(site.id)
    if (record) await puts.putRecordSite(site.id, record)
    for (const sessions of from.recordedSessions(site.id)) {
      await puts.putSessions(sessions)
      result.sessions += sessions.length
    }
    // Days packed before this move no longer hold every session: the packer packs them again.
    await puts.unpackRecord(site.id)
    for (const events of from.events(site.id, options.now - options.eventTtlMs)) {
      await puts.putImportedEvents(events.map((e) => asEnriched(e, site)))
      result.events += events.length
    }
    await puts.bumpCountersVersion(site.id)
    // A rerun may put the same rows again as long as no traffic changed them since.
    await store.putSetting(`moved:${site.id}`, String(await store.countersVersion(site.id)))
    result.sites++
  }
  return result
}
