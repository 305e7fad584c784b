// Bytes the record takes per event in SQLite (bench/NOTES.md): `tsx bench/record-bytes.ts`.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.ts'
import { acceptAndRollUp } from '../src/testing/accept-and-roll-up.ts'
import { makeSite } from '../src/testing/fixtures.ts'
import { SiteTraffic } from './event-world.ts'

const EVENTS = Number(process.env.EVENTS ?? 50_000)
const dir = mkdtempSync(join(tmpdir(), 'record-bytes-'))
const file = join(dir, 'record.db')
const site = makeSite({ id: 'site-a', domain: 'example.com' })
const store = new SqliteStore({ file })
await store.createSite(site)
const from = Date.UTC(2026, 0, 1)
const traffic = new SiteTraffic({ site, events: EVENTS, from, to: from + 7 * 86_400_000, seed: 7 })
let batch = []
let withProps = 0
for (let e = traffic.next(); e; e = traffic.next()) {
  // Tracker-shaped ids (the tracker's session id is a UUID); custom events carry two props.
  const event = {
    ...e,
    client_session_id: e.client_session_id.length < 36 ? randomUUID() : e.client_session_id,
  }
  if (event.event_type !== 'page_view') {
    event.props = { plan: ['free', 'pro', 'team'][withProps % 3] as string, value: withProps % 50 }
    withProps++
  }
  batch.push(event)
  if (batch.length === 2000) {
    await acceptAndRollUp(store, batch, [], {
      sessionTimeoutMs: 1_800_000,
      newSessionId: () => randomUUID(),
    })
    batch = []
  }
}
if (batch.length)
  await acceptAndRollUp(store, batch, [], {
    sessionTimeoutMs: 1_800_000,
    newSessionId: () => randomUUID(),
  })
await store.close()
const db = new Database(file, { readonly: true })
const size = (name: string) =>
  db.prepare('SELECT sum(pgsize) FROM dbstat WHERE name = ?').pluck().get(name) as number
const events = db.prepare('SELECT count(*) FROM record_events').pluck().get() as number
const sessions = db.prepare('SELECT count(*) FROM sessions').pluck().get() as number
console.log({ events, withProps, sessions })
for (const name of [
  'record_events',
  'events',
  'sessions',
  'sessions_by_start',
  'record_prop_values',
]) {
  console.log(name, size(name), (size(name) / events).toFixed(1), 'bytes per event')
}
db.close()
rmSync(dir, { recursive: true })
