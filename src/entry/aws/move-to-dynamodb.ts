import type { EnrichedEvent, Site } from '../../core/types.ts'
import type { DynamoDbStore } from '../../storage/dynamodb/dynamodb-store.ts'
import type { SqliteExport } from '../../storage/sqlite/export.ts'
import type { EventRecord } from '../../storage/store.ts'

export interface MoveResult {
  sites: number
  counter_rows: number
  sessions: number
  events: number
  skipped_sites: string[]
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
    channel: '',
    utm_source: '',
    utm_medium: '',
    utm_campaign: '',
    os: '',
  }
}

/**
 * Moves an embedded install into the DynamoDB store: sites, settings (the dashboard
 * password's hash and the token key, so signing in works as before), daily salts (so today's
 * visitor ids stay the same), every counter row, every session, and the raw events still
 * within the TTL, for timelines and the live view. Counters are put as they are, not added,
 * so moving again changes nothing; a site that already has counters in DynamoDB (traffic
 * went there) is skipped rather than overwritten. Today's visitor marks stay behind (the
 * embedded store keeps them as hashes): a visitor seen before the move and again after it on
 * the same day is counted twice that day.
 */
export async function moveToDynamoDb(
  from: SqliteExport,
  to: DynamoDbStore,
  options: { now: number; eventTtlMs: number },
): Promise<MoveResult> {
  const result: MoveResult = {
    sites: 0,
    counter_rows: 0,
    sessions: 0,
    events: 0,
    skipped_sites: [],
  }
  for (const { name, value } of from.settings()) await to.putSetting(name, value)
  for (const { day, salt } of from.salts()) await to.putSalt(day, salt)
  for (const site of from.sites()) {
    const existing = await to.getSite(site.id)
    // Counters here that a move did not leave as they are: traffic came here since.
    const version = await to.countersVersion(site.id)
    if (existing && version > 0 && (await to.getSetting(`moved:${site.id}`)) !== String(version)) {
      result.skipped_sites.push(site.id)
      continue
    }
    if (!existing) await to.createSite(site)
    for (const grain of ['day', 'hour'] as const) {
      for (const rows of from.counterRows(site.id, grain)) {
        await to.putCounterRows(site.id, grain, rows)
        result.counter_rows += rows.length
      }
    }
    for (const sessions of from.sessions(site.id)) {
      await to.putSessions(sessions)
      result.sessions += sessions.length
    }
    for (const events of from.events(site.id, options.now - options.eventTtlMs)) {
      await to.putImportedEvents(events.map((e) => asEnriched(e, site)))
      result.events += events.length
    }
    await to.bumpCountersVersion(site.id)
    // A rerun may put the same rows again as long as no traffic changed them since.
    await to.putSetting(`moved:${site.id}`, String(await to.countersVersion(site.id)))
    result.sites++
  }
  return result
}
