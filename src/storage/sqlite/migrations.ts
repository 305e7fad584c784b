import type Database from 'better-sqlite3'
import { UnusableDatabaseError } from './unusable-database.ts'

/**
 * The schema, versioned in `user_version`. A new file gets `BASE_SCHEMA` at `BASE_VERSION`;
 * then every file runs the `MIGRATIONS` it has not run yet, in order, each in a transaction
 * with the version it reaches, so a new file and an upgraded one end up alike. Never edit the
 * base schema or a released migration: append a migration.
 *
 * The base version is 100, not 1: files from before the first release carry versions 1 to 10
 * of a schema this build does not read, and none of them may pass for a version of this one.
 */
export const BASE_VERSION = 100

const COUNTER_COLUMNS = `
  pageviews INTEGER NOT NULL DEFAULT 0,
  visitors INTEGER NOT NULL DEFAULT 0,
  sessions INTEGER NOT NULL DEFAULT 0,
  bounces INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0,
  bots INTEGER NOT NULL DEFAULT 0`

export const BASE_SCHEMA = `
  CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    timezone TEXT NOT NULL,
    api_key TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL);
  -- Generated secrets (dashboard password hash, token signing key): one value per name.
  CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  -- Raw events, kept for EVENT_TTL_HOURS. Keyed by time first, so inserts append instead of
  -- landing on random pages. They carry what the live view and a session's timeline need,
  -- found by client session id and time, so the request path writes no index on random keys.
  -- A retry repeats id and time: the key makes it a no-op.
  CREATE TABLE events (
    site_id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    client_session_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    page_url TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    referrer TEXT NOT NULL,
    user_id TEXT,
    visitor_id TEXT NOT NULL,
    props TEXT,
    engagement_ms INTEGER,
    source TEXT NOT NULL,
    country TEXT NOT NULL,
    device TEXT NOT NULL,
    browser TEXT NOT NULL,
    PRIMARY KEY (site_id, timestamp, event_id)
  ) WITHOUT ROWID;
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    site_id TEXT NOT NULL,
    client_session_id TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    user_id TEXT,
    start_time INTEGER NOT NULL,
    end_time INTEGER NOT NULL,
    pageviews INTEGER NOT NULL,
    interactions INTEGER NOT NULL,
    entry_page TEXT NOT NULL,
    exit_page TEXT NOT NULL,
    source TEXT NOT NULL,
    channel TEXT NOT NULL,
    utm_source TEXT NOT NULL,
    utm_medium TEXT NOT NULL,
    utm_campaign TEXT NOT NULL,
    browser TEXT NOT NULL,
    os TEXT NOT NULL,
    device TEXT NOT NULL,
    country TEXT NOT NULL
  );
  -- Dropped and built again by a bulk load (lookup-indexes.ts, which holds the same statements).
  CREATE INDEX sessions_by_client ON sessions (site_id, client_session_id, start_time);
  CREATE INDEX sessions_by_user ON sessions (site_id, user_id, start_time) WHERE user_id IS NOT NULL;
  -- Counters per UTC hour; dimension rows (dim <> '') are swept after a few days.
  CREATE TABLE rollup_hour (
    site_id TEXT NOT NULL,
    dim TEXT NOT NULL,
    bucket INTEGER NOT NULL,
    value TEXT NOT NULL,${COUNTER_COLUMNS},
    PRIMARY KEY (site_id, dim, bucket, value)
  ) WITHOUT ROWID;
  -- Counters per site-local day, kept for good.
  CREATE TABLE rollup_day (
    site_id TEXT NOT NULL,
    dim TEXT NOT NULL,
    bucket TEXT NOT NULL,
    value TEXT NOT NULL,${COUNTER_COLUMNS},
    PRIMARY KEY (site_id, dim, bucket, value)
  ) WITHOUT ROWID;
  -- One dimension value over time (a page or source filter), without scanning every other value.
  CREATE INDEX rollup_day_by_value ON rollup_day (site_id, dim, value, bucket);
  CREATE INDEX rollup_hour_by_value ON rollup_hour (site_id, dim, value, bucket);
  -- Span rollups (spans.ts) for breakdowns over long ranges.
  CREATE TABLE rollup_span (
    site_id TEXT NOT NULL,
    grain TEXT NOT NULL,
    level INTEGER NOT NULL,
    start INTEGER NOT NULL,
    dim TEXT NOT NULL,
    value TEXT NOT NULL,${COUNTER_COLUMNS},
    PRIMARY KEY (site_id, grain, level, start, dim, value)
  ) WITHOUT ROWID;
  CREATE TABLE span_window (
    site_id TEXT NOT NULL,
    grain TEXT NOT NULL,
    origin INTEGER NOT NULL,
    through INTEGER NOT NULL,
    PRIMARY KEY (site_id, grain)
  ) WITHOUT ROWID;
  -- A number per site that grows with every roll-up write to its counters, so cached stats
  -- answers are dropped as soon as they would change (Store.countersVersion).
  CREATE TABLE counters_version (site_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
  -- "Visitor already counted today for this scope", as 53-bit hashes (core/mark-hash.ts): the set
  -- of a day is held in memory and read back from here after a restart. One row per roll-up
  -- write and day, its marks packed 8 bytes each: a new visitor claims about 15 marks (site,
  -- pages, sources…). Only today and yesterday are needed.
  CREATE TABLE visitor_mark_blocks (day TEXT NOT NULL, marks BLOB NOT NULL);
  CREATE INDEX visitor_mark_blocks_by_day ON visitor_mark_blocks (day);
  -- Accepted items waiting for the roll-up (sessions, counters), one row per accept: a JSON
  -- array of its packed items (pending-queue.ts). An item's seq is first_seq plus its index.
  -- Rows are retired in the same transaction that applies them, so a crash in between loses
  -- nothing.
  CREATE TABLE ingest_batch (
    first_seq INTEGER PRIMARY KEY,
    item_count INTEGER NOT NULL,
    -- Items moved to the dead letters (null in items).
    dropped INTEGER NOT NULL DEFAULT 0,
    oldest INTEGER,
    items TEXT NOT NULL
  );
  -- The next seq (seqs only grow, so a seq names one item for good) and how far the roll-up
  -- has retired, which may end inside a batch.
  CREATE TABLE ingest_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL,
    retired_through INTEGER NOT NULL
  );
  INSERT INTO ingest_cursor (id, next_seq, retired_through) VALUES (1, 1, 0);
  -- Queued items the roll-up failed on again and again, moved aside (rollup-stage.ts).
  CREATE TABLE ingest_dead_letter (
    seq INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at INTEGER NOT NULL
  );
`

/** Changes after the base schema: `MIGRATIONS[i]` brings a file to BASE_VERSION + i + 1. */
export const MIGRATIONS: readonly string[] = [
  // 101: visitor marks of days too large to keep in memory, one row per mark
  // (visitor-marks.ts); a day's marks are in its blocks or in these rows.
  `CREATE TABLE visitor_marks (
     day TEXT NOT NULL,
     hash INTEGER NOT NULL,
     PRIMARY KEY (day, hash)
   ) WITHOUT ROWID;`,
  // 102: when each queue row was accepted (epoch ms), so the store can tell how far the
  // roll-up trails (Store.oldestPendingAcceptedAt). Rows queued by an earlier build get the
  // time of the upgrade: they were accepted no later, so a lag measured from it is too small,
  // never too large, and still grows while the roll-up is stuck on them.
  `ALTER TABLE ingest_batch ADD COLUMN accepted_at INTEGER;
   UPDATE ingest_batch SET accepted_at = CAST(round(unixepoch('subsec') * 1000) AS INTEGER);`,
  // 103: the session dimensions hostname, utm_term, utm_content and screen. Sessions of an
  // earlier build get "": their visits are counted without them, as they were (their
  // hostname is not in the row to recover it, and a stored session's counters must stay
  // what its rows hold, or a later change to it would subtract what was never added).
  `ALTER TABLE sessions ADD COLUMN hostname TEXT NOT NULL DEFAULT '';
   ALTER TABLE sessions ADD COLUMN utm_term TEXT NOT NULL DEFAULT '';
   ALTER TABLE sessions ADD COLUMN utm_content TEXT NOT NULL DEFAULT '';
   ALTER TABLE sessions ADD COLUMN screen TEXT NOT NULL DEFAULT '';`,
  // 104: the session's referrer host (the record's `referrer` filter). Sessions of an earlier
  // build read "": their referrer is not in the row, and "" is what a direct visit holds, so
  // a referrer filter misses them rather than guessing from the source.
  `ALTER TABLE sessions ADD COLUMN referrer TEXT NOT NULL DEFAULT '';`,
  // 105: the record (record/session-record.ts), written by the roll-up in the unit's
  // transaction. Its events are kept for good, by tracker session and time: a session's
  // events are one range of the key, found from the session row however later units merged
  // or moved sessions (no session id is stored that a merge would leave stale). `ord` keeps
  // events of the same millisecond in the order they were counted. No client address, no
  // visitor id: what the session row holds is enough to filter by.
  //
  // record_sites: per site, from when sessions hold their events (`since`, event time) and
  // the longest session written (ms; sessions are written before their events are, so a site
  // may have a row and no since yet), so that a period's sessions are one range of
  // sessions_by_start: those starting in [from - longest, to]. A site of an upgraded file
  // begins at the upgrade (`upgraded`: its since stays there); a later site at its earliest
  // recorded event.
  //
  // record_prop_values: the values each property key took per site and site-local day, for
  // the record's cap on distinct values (record/property-limits.ts); swept with the marks.
  `CREATE TABLE record_events (
     site_id TEXT NOT NULL,
     client_session_id TEXT NOT NULL,
     timestamp INTEGER NOT NULL,
     event_id TEXT NOT NULL,
     ord INTEGER NOT NULL,
     event_type TEXT NOT NULL,
     path TEXT NOT NULL,
     props TEXT,
     PRIMARY KEY (site_id, client_session_id, timestamp, event_id)
   ) WITHOUT ROWID;
   CREATE TABLE record_sites (
     site_id TEXT PRIMARY KEY,
     since INTEGER,
     upgraded INTEGER NOT NULL,
     longest INTEGER NOT NULL DEFAULT 0,
     next_ord INTEGER NOT NULL DEFAULT 0
   ) WITHOUT ROWID;
   INSERT INTO record_sites (site_id, since, upgraded, longest)
     SELECT id, CAST(round(unixepoch('subsec') * 1000) AS INTEGER), 1,
       coalesce((SELECT max(end_time - start_time) FROM sessions WHERE site_id = sites.id), 0)
     FROM sites;
   CREATE INDEX sessions_by_start ON sessions (site_id, start_time);
   CREATE TABLE record_prop_values (
     site_id TEXT NOT NULL,
     day TEXT NOT NULL,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     PRIMARY KEY (site_id, day, key, value)
   ) WITHOUT ROWID;
   CREATE TABLE record_prop_keys (
     site_id TEXT NOT NULL,
     day TEXT NOT NULL,
     key TEXT NOT NULL,
     distinct_values INTEGER NOT NULL,
     PRIMARY KEY (site_id, day, key)
   ) WITHOUT ROWID;`,
  // 106: how many times a site's past record was rewritten (a user's deletion, a bulk load),
  // kept with the record so a copy of its columns saved on disk (record/columns-snapshot.ts)
  // can tell, in any later process, that it no longer holds what the record does.
  `ALTER TABLE record_sites ADD COLUMN rewrites INTEGER NOT NULL DEFAULT 0;`,
]

/** The version this build writes. */
export const SCHEMA_VERSION = BASE_VERSION + MIGRATIONS.length

/**
 * Brings the file to the last version `migrations` reach and returns that version.
 * @throws UnusableDatabaseError, without changing the file, when a build other than this one
 * wrote it: a version from before the base schema, or one after the last migration this
 * build knows
 */
export function migrate(db: Database.Database, migrations: readonly string[] = MIGRATIONS): number {
  const latest = BASE_VERSION + migrations.length
  const found = db.pragma('user_version', { simple: true }) as number
  if (found !== 0 && found < BASE_VERSION) {
    throw new UnusableDatabaseError(
      db.name,
      `${db.name} was written by a pre-release schema (version ${found}), which this build ` +
        'does not read; move the file aside and start again (the build that wrote it still reads it)',
    )
  }
  if (found > latest) {
    // Migrating down is not a thing: the newer release's data would be misread or lost.
    throw new UnusableDatabaseError(
      db.name,
      `${db.name} was written by a newer release of LiveInsight (schema version ${found}; ` +
        `this release reads up to ${latest}): upgrade LiveInsight to that release or a later one`,
    )
  }
  if (found === 0) {
    db.transaction(() => {
      db.exec(BASE_SCHEMA)
      db.pragma(`user_version = ${BASE_VERSION}`)
    })()
  }
  for (let version = Math.max(found, BASE_VERSION); version < latest; version++) {
    db.transaction(() => {
      db.exec(migrations[version - BASE_VERSION] as string)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
  return latest
}
