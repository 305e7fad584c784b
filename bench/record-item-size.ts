// The DynamoDB session item's size with its record events (bench/NOTES.md):
// `tsx bench/record-item-size.ts`. Sizes by DynamoDB's rule: attribute names plus values
// (strings as UTF-8, numbers about 1 byte per 2 digits plus 1).
import { randomUUID } from 'node:crypto'
import { sessionItem } from '../src/storage/dynamodb/items.ts'
import { packRecordEvents } from '../src/storage/dynamodb/record.ts'
import { makeSession } from '../src/testing/fixtures.ts'

function itemBytes(item: Record<string, unknown>): number {
  let bytes = 0
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue
    bytes += Buffer.byteLength(name)
    if (typeof value === 'string') bytes += Buffer.byteLength(value)
    else if (typeof value === 'number') bytes += Math.ceil(String(value).length / 2) + 1
    else bytes += 1
  }
  return bytes
}

const start = Date.UTC(2026, 0, 15, 10)
const session = makeSession({
  id: `${start.toString(36)}-${randomUUID()}`,
  site_id: 'example-com',
  client_session_id: randomUUID(),
  visitor_id: 'a1b2c3d4e5f6a7b8c9d0e1f2',
  start_time: start,
  end_time: start + 600_000,
  entry_page: '/blog/how-we-count-visitors',
  exit_page: '/pricing',
  referrer: 'news.ycombinator.com',
})
console.log('events | item bytes | WRU per Put (per copy)')
for (const n of [0, 1, 3, 5, 7, 10, 20, 50, 100]) {
  const events = Array.from({ length: n }, (_, i) => ({
    event_id: randomUUID(),
    timestamp: start + i * 45_000,
    event_type: i % 4 === 3 ? 'signup' : 'page_view',
    path: i % 2 ? '/pricing' : '/blog/how-we-count-visitors',
    props: i % 4 === 3 ? { plan: 'pro' } : null,
  }))
  const bytes = itemBytes(sessionItem(session, n ? packRecordEvents(start, events) : undefined))
  console.log(`${n} | ${bytes} | ${Math.ceil(bytes / 1024)}`)
}
