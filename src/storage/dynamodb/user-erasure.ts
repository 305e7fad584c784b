import type { UserDataDeleted } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import type { FoldSegments } from './fold-segments.ts'
import { clientPartition, timeKey, userKey } from './keys.ts'
import { markLate } from './late-writes.ts'
import { recordEventsOf } from './record.ts'
import { type RecordPacks, utcDay } from './record-packs.ts'
import { type StoreContext, unstorable } from './requests.ts'
import { INDEX } from './tables.ts'
import { overlaid, type UncopiedSessions } from './uncopied-sessions.ts'

/**
 * Deleting an identified user's data (UserErasure): their sessions by `UserIndex`, with the
 * record's events they carry; each session's raw events by its tracker session's partition
 * and span; and their sessions' copies in the fold's kept windows (visitor marks there are
 * hashes, counters sums: neither names them). Raw
 * events of the user not rolled up yet have no session to find them by (the Events table has
 * no user index: README.md); they expire with their TTL within a day. The packed days that
 * hold one of their sessions are packed again without it.
 */
export class DynamoDbUserErasure {
  constructor(
    private readonly c: StoreContext,
    private readonly packs: RecordPacks,
    private readonly windows: FoldSegments,
    private readonly uncopied: UncopiedSessions,
  ) {}

  async deleteUserData(siteId: string, userId: string): Promise<UserDataDeleted> {
    const deleted = { sessions: 0, events: 0, raw_events: 0 }
    if (unstorable(siteId, userId)) return deleted
    const { tables, requests, doc } = this.c
    const copied = await requests.queryAll({
      TableName: tables.sessions,
      IndexName: INDEX.sessionsByUser,
      KeyConditionExpression: 'user_key = :u',
      ExpressionAttributeValues: { ':u': userKey(siteId, userId) },
    })
    // With those the sweep has not copied yet (uncopied-sessions.ts).
    const sessions = overlaid(
      copied,
      await this.uncopied.of(siteId),
      (item) => item.user_id === userId,
    )
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
    // The fold's windows hold copies of sessions too (fold-segments.ts): taken out.
    await this.windows.scrub(siteId, new Set(sessions.map((session) => String(session.id))))
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
}
