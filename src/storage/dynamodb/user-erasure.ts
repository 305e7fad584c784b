import { localDay } from '../../core/calendar.ts'
import { markScope } from '../../core/rollup-deltas.ts'
import { isInteraction, PAGE_VIEW } from '../../core/session-rules.ts'
import type { RecordEvent } from '../../record/session-record.ts'
import type { UserDataDeleted } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import type { Item } from './items.ts'
import { clientPartition, STATE, timeKey, userKey } from './keys.ts'
import { markLate } from './late-writes.ts'
import { recordEventsOf } from './record.ts'
import { type RecordPacks, utcDay } from './record-packs.ts'
import { type StoreContext, unstorable } from './requests.ts'
import { DAY_MS, MARK_KEEP_DAYS } from './retention.ts'
import { INDEX } from './tables.ts'

/**
 * Deleting an identified user's data (UserErasure): their sessions by `UserIndex`, with the
 * record's events they carry; each session's raw events by its tracker session's partition
 * and span; and the visitor marks of the last days whose keys name them (an identified
 * visitor's id is `u:USER`: SQLite keeps marks as hashes, these keys in plain text). Raw
 * events of the user not rolled up yet have no session to find them by (the Events table has
 * no user index: README.md); they expire with their TTL within a day. The packed days that
 * hold one of their sessions are packed again without it.
 */
export class DynamoDbUserErasure {
  constructor(
    private readonly c: StoreContext,
    private readonly packs: RecordPacks,
  ) {}

  async deleteUserData(siteId: string, userId: string): Promise<UserDataDeleted> {
    const deleted = { sessions: 0, events: 0, raw_events: 0 }
    if (unstorable(siteId, userId)) return deleted
    const { tables, requests, doc } = this.c
    const sessions = await requests.queryAll({
      TableName: tables.sessions,
      IndexName: INDEX.sessionsByUser,
      KeyConditionExpression: 'user_key = :u',
      ExpressionAttributeValues: { ':u': userKey(siteId, userId) },
    })
    for (const session of sessions) {
      const client = String(session.client_session_id)
      const raw = await requests.queryAll({
        TableName: tables.events,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': clientPartition(siteId, client),
          ':from': timeKey(Number(session.start_time)),
          ':to': `${timeKey(Number(session.end_time))}#\uffff`,
        },
        ProjectionExpression: 'pk, sk',
      })
      await batchWriteAll(
        doc,
        tables.events,
        raw.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
      )
      deleted.raw_events += raw.length
      deleted.events += recordEventsOf(session)?.length ?? 0
    }
    await this.deleteMarks(siteId, userId, sessions)
    // The index's copies lag the table by a moment: delete by the table's keys.
    await batchWriteAll(
      doc,
      tables.sessions,
      sessions.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
    )
    deleted.sessions = sessions.length
    // Readers that keep unpacked sessions drop them (late-writes.ts).
    if (sessions.length > 0) await markLate(this.c, [siteId])
    // Packed days holding a session of theirs are written again without it (record-packs.ts).
    await this.packs.repackDays(
      siteId,
      new Set(sessions.map((session) => utcDay(Number(session.start_time)))),
      new Set(sessions.map((session) => String(session.id))),
    )
    return deleted
  }

  /**
   * The marks the user's events may have claimed while marks are kept: the site's, and each
   * page's and event's of the day (rollup-deltas.ts, eventMarks). A key that is not there
   * costs a write unit and changes nothing.
   */
  private async deleteMarks(siteId: string, userId: string, sessions: Item[]): Promise<void> {
    const site = await this.c.requests.getItem(this.c.tables.state, {
      pk: STATE.sitesPk,
      sk: siteId,
    })
    const timezone = typeof site?.timezone === 'string' ? site.timezone : 'UTC'
    const keptFrom = localDay(this.c.now() - (MARK_KEEP_DAYS + 1) * DAY_MS, timezone)
    const visitor = `u:${userId}`
    const keys = new Set<string>()
    const add = (at: number, dim: string, value: string) => {
      const day = localDay(at, timezone)
      if (day >= keptFrom) keys.add(STATE.mark(siteId, day, markScope(dim, value), visitor))
    }
    for (const session of sessions) {
      const events: RecordEvent[] = recordEventsOf(session) ?? []
      add(Number(session.start_time), '', '')
      for (const e of events) {
        add(e.timestamp, '', '')
        if (e.event_type === PAGE_VIEW) add(e.timestamp, 'page', e.path)
        else if (isInteraction(e.event_type)) add(e.timestamp, 'event', e.event_type)
      }
    }
    await batchWriteAll(
      this.c.doc,
      this.c.tables.state,
      [...keys].map((pk) => ({ DeleteRequest: { Key: { pk, sk: STATE.one } } })),
    )
  }
}
