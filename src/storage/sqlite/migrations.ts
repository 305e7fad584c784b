import type Database from 'better-sqlite3'

/**
 * Versioned schema. Each entry runs once, in order, inside a transaction; `user_version`
 * records how far a database has come. Never edit an applied migration: append a new one.
 */
const COUNTER_COLUMNS = `
  pageviews INTEGER NOT NULL DEFAULT 0,
  visitors INTEGER NOT NULL DEFAULT 0,
  sessions INTEGER NOT NULL DEFAULT 0,
  bounces INTEGER NOT NULL DEFAULT 0,
  duration_ms INTEGER NOT NULL DEFAULT 0,
  events INTEGER NOT NULL DEFAULT 0,
  bots INTEGER NOT NULL DEFAULT 0`

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE sites (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    timezone TEXT NOT NULL,
    api_key TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL);
  -- Raw events, kept for EVENT_TTL_HOURS; the key makes a repeated event_id a no-op.
  CREATE TABLE events (
    site_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    timestamp INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    page_url TEXT NOT NULL,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    referrer TEXT NOT NULL,
    user_id TEXT,
    visitor_id TEXT NOT NULL,
    props TEXT,
    engagement_ms INTEGER,
    PRIMARY KEY (site_id, event_id)
  ) WITHOUT ROWID;
  CREATE INDEX events_by_session ON events (session_id, timestamp);
  CREATE INDEX events_by_time ON events (timestamp);
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
  -- "Visitor already counted today for this scope"; only today and yesterday are needed.
  CREATE TABLE visitor_marks (
    day TEXT NOT NULL,
    site_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    visitor_id TEXT NOT NULL,
    PRIMARY KEY (day, site_id, scope, visitor_id)
  ) WITHOUT ROWID;
  `,
  `
  -- Generated secrets (dashboard password hash, token signing key): one value per name.
  CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  `,
  `
  -- Events keyed by time first, so inserts append instead of landing on random pages. They
  -- carry what the live view and a session's timeline need, found by client session id and
  -- time, so the request path writes no index on random keys. A retry repeats id and time.
  CREATE TABLE events_v3 (
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
  INSERT INTO events_v3
    SELECT e.site_id, e.timestamp, e.event_id, s.client_session_id, e.event_type, e.page_url,
           e.path, e.title, e.referrer, e.user_id, e.visitor_id, e.props, e.engagement_ms,
           s.source, s.country, s.device, s.browser
    FROM events e JOIN sessions s ON s.id = e.session_id;
  DROP TABLE events;
  ALTER TABLE events_v3 RENAME TO events;
  -- Accepted items waiting for the roll-up (sessions, counters). Rows are deleted in the
  -- same transaction that applies them, so a crash in between loses nothing.
  CREATE TABLE ingest_queue (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL);
  -- Visitor marks become an append-only log of 53-bit hashes; the live set of a day is
  -- held in memory and rebuilt from this log after a restart.
  DROP TABLE visitor_marks;
  CREATE TABLE visitor_mark_log (day TEXT NOT NULL, mark INTEGER NOT NULL);
  CREATE INDEX visitor_mark_log_by_day ON visitor_mark_log (day);
  `,
  // v4: span rollups (see spans.ts) for breakdowns over long ranges, and an index to read one
  // dimension value over time (a page or source filter) without scanning every other value.
  `
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
  CREATE INDEX rollup_day_by_value ON rollup_day (site_id, dim, value, bucket);
  CREATE INDEX rollup_hour_by_value ON rollup_hour (site_id, dim, value, bucket);
  `,
  // v5: a roll-up logs the visitor marks it claimed as one packed row per day (8 bytes per
  // mark) instead of one row each: a new visitor claims about 15 marks (site, pages, sources…).
  `
  CREATE TABLE visitor_mark_blocks (day TEXT NOT NULL, marks BLOB NOT NULL);
  CREATE INDEX visitor_mark_blocks_by_day ON visitor_mark_blocks (day);
  `,
  // v6: queued items the roll-up failed on again and again, moved aside (rollup-stage.ts).
  `
  CREATE TABLE ingest_dead_letter (
    seq INTEGER PRIMARY KEY,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    failed_at INTEGER NOT NULL
  );
  `,
  // v7: an accepted event waits in the queue as the key of its row in events plus the few
  // fields that row lacks (queued-event.ts), not as a second full copy. Bot hits, and entries
  // queued before, keep their JSON payload.
  `
  CREATE TABLE ingest_queue_v7 (
    seq INTEGER PRIMARY KEY,
    payload TEXT,
    site_id TEXT,
    timestamp INTEGER,
    event_id TEXT,
    extra TEXT
  );
  INSERT INTO ingest_queue_v7 (seq, payload) SELECT seq, payload FROM ingest_queue;
  DROP TABLE ingest_queue;
  ALTER TABLE ingest_queue_v7 RENAME TO ingest_queue;
  `,
  // v8: queue seqs only grow (AUTOINCREMENT). A plain rowid restarts at 1 whenever the queue
  // runs empty, so a seq could name two items over time: a roll-up taking entries from memory
  // (hot-queue.ts) must be able to trust that the queue's head seq is the item it holds, and
  // dead letters are keyed by seq. The counter starts above every seq used so far.
  `
  ALTER TABLE ingest_queue RENAME TO ingest_queue_v7;
  CREATE TABLE ingest_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT,
    site_id TEXT,
    timestamp INTEGER,
    event_id TEXT,
    extra TEXT
  );
  INSERT INTO ingest_queue SELECT * FROM ingest_queue_v7;
  DROP TABLE ingest_queue_v7;
  DELETE FROM sqlite_sequence WHERE name = 'ingest_queue';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'ingest_queue', max(
    coalesce((SELECT max(seq) FROM ingest_queue), 0),
    coalesce((SELECT max(seq) FROM ingest_dead_letter), 0));
  `,
  // v9: a number per site that grows with every roll-up write to its counters, so cached
  // stats answers are dropped as soon as they would change (Store.countersVersion).
  `
  CREATE TABLE counters_version (site_id TEXT PRIMARY KEY, version INTEGER NOT NULL);
  `,
  // v10: the queue holds one row per accept (a JSON array of its items, queued-event.ts) instead
  // of one per item: the per-item row, its seq counter and its later delete were about a third
  // of the accept thread's work. Item seqs are the batch's first_seq plus the item's index; the
  // cursor keeps the next seq and how far the roll-up has retired into a partly done batch. A
  // dead-lettered item leaves a null in its batch. Each v8 entry becomes a batch of one.
  `
  CREATE TABLE ingest_batch (
    first_seq INTEGER PRIMARY KEY,
    item_count INTEGER NOT NULL,
    -- Items moved to the dead letters (null in items).
    dropped INTEGER NOT NULL DEFAULT 0,
    oldest INTEGER,
    items TEXT NOT NULL
  );
  CREATE TABLE ingest_cursor (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL,
    retired_through INTEGER NOT NULL
  );
  INSERT INTO ingest_batch (first_seq, item_count, oldest, items)
    SELECT seq, 1, timestamp, CASE
      WHEN payload IS NOT NULL THEN json_array(json_array('p', json(payload)))
      ELSE json_array(json_array('k', site_id, timestamp, event_id, json(extra)))
    END FROM ingest_queue;
  INSERT INTO ingest_cursor (id, next_seq, retired_through) SELECT 1, 1 + max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'ingest_queue'), 0),
    coalesce((SELECT max(seq) FROM ingest_queue), 0),
    coalesce((SELECT max(seq) FROM ingest_dead_letter), 0)), 0;
  DROP TABLE ingest_queue;
  `,
]

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version] as string)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
  return MIGRATIONS.length
}
