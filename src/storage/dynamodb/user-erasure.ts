import { PutCommand } from '@aws-sdk/lib-dynamodb'
import type { EnrichedEvent } from '../../core/types.ts'
import type { UserDataDeleted } from '../store.ts'
import { batchWriteAll } from './batch-write.ts'
import { CopyBatches } from './copy-batches.ts'
import { storageFault } from './faults.ts'
import type { FoldSegments } from './fold-segments.ts'
import { fromTable } from './items.ts'
import { clientPartition, requestPartition, timeKey, userKey } from './keys.ts'
import { markLate } from './late-writes.ts'
import { recordEventsOf } from './record.ts'
import { type RecordPacks, utcDay } from './record-packs.ts'
import { isRequestItem, REQUEST_SPAN_MS, requestEvents, requestItem } from './request-items.ts'
import { isConditionFailure, type StoreContext, unstorable } from './requests.ts'
import { INDEX } from './tables.ts'
import { overlaid, type UncopiedSessions } from './uncopied-sessions.ts'

/**
 * Deleting an identified user's data (UserErasure): their sessions by `UserIndex`, with the
 * record's events they carry; each session's raw events out of its site's request items, by
 * its tracker session and span (eraseRawEvents); and their sessions' copies in the fold's
 * kept windows (visitor marks there are hashes, counters sums: neither names them). Raw
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
      copied.map(fromTable),
      await this.uncopied.of(siteId),
      (item) => item.user_id === userId,
    )
    for (const session of sessions) {
      deleted.raw_events += await this.eraseRawEvents(
        siteId,
        String(session.client_session_id),
        Number(session.start_time),
        Number(session.end_time),
      )
      deleted.events += recordEventsOf(session)?.length ?? 0
    }
    // The fold's windows hold copies of sessions too (fold-segments.ts): taken out.
    const ids = new Set(sessions.map((session) => String(session.id)))
    await this.windows.scrub(siteId, ids)
    // And the sweep's copy batches, which the period reads and the packer read.
    await new CopyBatches(this.c).scrub(siteId, ids)
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
   * A session's raw events out of its site's request items (request-items.ts), read as a
   * timeline reads them: an item of its events only is deleted; an item that holds others'
   * events too is written again without them, on condition that it is still as read (a
   * rewrite that lost a race is read and tried again). The rewrite keeps the item's key, so
   * the request sent again is still refused, and is a MODIFY on the stream, which the
   * roll-up does not count (it takes INSERTs only). Returns the events removed.
   */
  private async eraseRawEvents(
    siteId: string,
    client: string,
    start: number,
    end: number,
  ): Promise<number> {
    const { tables, requests, doc } = this.c
    const theirs = (event: EnrichedEvent) =>
      event.client_session_id === client && event.timestamp >= start && event.timestamp <= end
    const items = await requests.queryAll({
      TableName: tables.events,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      FilterExpression: '(cs = :cs OR attribute_not_exists(cs)) AND #min <= :end',
      ExpressionAttributeNames: { '#min': 'min' },
      ExpressionAttributeValues: {
        ':pk': requestPartition(siteId),
        ':from': timeKey(start),
        ':to': `${timeKey(end + REQUEST_SPAN_MS)}#\uffff`,
        ':cs': client,
        ':end': end,
      },
      ConsistentRead: true,
    })
    let removed = 0
    const deletes: Array<{ pk: unknown; sk: unknown }> = []
    for (let item of items) {
      for (let tries = 0; ; tries++) {
        if (!isRequestItem(item)) break
        const events = requestEvents(item)
        const kept = events.filter((event) => !theirs(event))
        if (kept.length === events.length) break
        if (kept.length === 0) {
          deletes.push({ pk: item.pk, sk: item.sk })
          removed += events.length
          break
        }
        const rewritten = {
          ...requestItem(kept, {
            acceptedAt: Number(item.accepted_at),
            eventTtlMs: 0,
            ...(item.imported ? { imported: true } : {}),
          }),
          pk: item.pk,
          sk: item.sk,
          ttl: item.ttl,
        }
        try {
          await doc.send(
            new PutCommand({
              TableName: tables.events,
              Item: rewritten,
              ConditionExpression: 'ev = :ev',
              ExpressionAttributeValues: { ':ev': item.ev },
            }),
          )
          removed += events.length - kept.length
          break
        } catch (error) {
          if (!isConditionFailure(error) || tries >= 3) {
            throw storageFault('PutItem(erase raw events)', error)
          }
          // Changed meanwhile (another erasure), or deleted by its TTL: read it again.
          const again = await requests.getItem(tables.events, { pk: item.pk, sk: item.sk })
          if (!again) break
          item = again
        }
      }
    }
    // Event items of the release before request items, keyed by tracker session: there for
    // a day after an upgrade, until their TTL.
    const older = await requests.queryAll({
      TableName: tables.events,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': clientPartition(siteId, client),
        ':from': timeKey(start),
        ':to': `${timeKey(end)}#\uffff`,
      },
      ProjectionExpression: 'pk, sk',
    })
    for (const item of older) deletes.push({ pk: item.pk, sk: item.sk })
    removed += older.length
    await batchWriteAll(
      doc,
      tables.events,
      deletes.map((Key) => ({ DeleteRequest: { Key } })),
    )
    return removed
  }
}
