import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import { enrichEvent } from '../accept/enrich-event.ts'
import { SaltCache } from '../accept/salt-cache.ts'
import { localDay } from '../core/calendar.ts'
import { parseEventInput } from '../core/parse-event.ts'
import type { BotHit, EnrichedEvent, Site } from '../core/types.ts'
import type { Intake, Upkeep } from '../storage/store.ts'
import {
  HistoryImport,
  HistoryImportError,
  type HistoryImportOptions,
  type ImportTarget,
} from './history-import.ts'

/**
 * What a line of an import file may carry besides the event itself (docs/design.md, An
 * event): who sent it, which the collector reads from the request instead.
 */
const SenderSchema = z.object({
  /** The client IP, hashed into the visitor id with the day's salt and the user agent. */
  ip: z.string().max(64).optional(),
  /** The source tool's own visitor key, when it has one: used in place of the IP. */
  visitor: z.string().min(1).max(128).optional(),
  country: z
    .string()
    .regex(/^[A-Z]{2}$/, { error: 'must be a two-letter country code' })
    .optional(),
})

export interface RejectedLine {
  line: number
  message: string
}

export interface HistoryFileResult {
  imported: number
  duplicates: number
  sessions: number
  bots: number
  rejected: number
}

/** Lines handed to the import at a time: enough to amortise, little to hold. */
const CHUNK = 5000

/**
 * Imports an NDJSON file of one site's history: one event per line, as `POST /api/events`
 * takes it, with a `timestamp` (required here) and optionally `user_agent`, `ip`, `visitor`
 * and `country`. Lines in time order. A bad line is reported and skipped, as the collector
 * rejects one event of a batch and keeps the others; bots are only counted, as there. Stops
 * with a HistoryImportError naming the line when the order breaks or the site's counters
 * already reach the file's start.
 */
export async function importHistoryFile(input: {
  store: ImportTarget & Pick<Intake, 'dailySalt'> & Pick<Upkeep, 'sweep'>
  site: Site
  lines: AsyncIterable<string>
  options: HistoryImportOptions
  onRejected?: (rejected: RejectedLine) => void
  /** Called every `progressEvery` lines (default 100,000) with the count and the time reached. */
  onProgress?: (progress: { lines: number; through: number }) => void
  progressEvery?: number
}): Promise<HistoryFileResult> {
  const progressEvery = input.progressEvery ?? 100_000
  const { store, site, options } = input
  // As the server does at start: the sweep tells the roll-up which hours are past keeping
  // hourly dimension rows for (most history is), so the import does not write them at all.
  const policy = { now: options.now, eventTtlMs: options.eventTtlMs }
  await store.sweep(policy)
  const history = new HistoryImport(store, options)
  const salts = new SaltCache(store)
  let bots = 0
  let rejected = 0
  const reject = (line: number, message: string) => {
    rejected++
    input.onRejected?.({ line, message })
  }
  let chunk: Array<EnrichedEvent | BotHit> = []
  /** The file line of each item in `chunk`, to name the line an import error is about. */
  let chunkLines: number[] = []
  const flush = async () => {
    const first = history.added
    try {
      await history.add(chunk)
    } catch (error) {
      if (error instanceof HistoryImportError && error.at !== undefined) {
        const line = chunkLines[error.at - first]
        throw new HistoryImportError(`line ${line}: ${error.message}`, line, error.countedThrough)
      }
      throw error
    }
    chunk = []
    chunkLines = []
  }

  let lineNumber = 0
  let through = 0
  for await (const text of input.lines) {
    lineNumber++
    if (lineNumber % progressEvery === 0) input.onProgress?.({ lines: lineNumber, through })
    if (text.trim() === '') continue
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      reject(lineNumber, 'not valid JSON')
      continue
    }
    if (typeof raw === 'object' && raw !== null && !('timestamp' in raw)) {
      reject(lineNumber, 'timestamp: required when importing history')
      continue
    }
    const parsed = parseEventInput(raw, options.now, { maxAgeMs: Number.POSITIVE_INFINITY })
    if (!parsed.ok) {
      reject(lineNumber, parsed.message)
      continue
    }
    const sender = SenderSchema.safeParse(raw)
    if (!sender.success) {
      const issue = sender.error.issues[0]
      reject(lineNumber, `${issue?.path.join('.')}: ${issue?.message}`)
      continue
    }
    const event = parsed.event
    const salt = await salts.saltFor(localDay(event.timestamp, site.timezone))
    const enriched = enrichEvent(
      event,
      site,
      {
        ip: sender.data.visitor ?? sender.data.ip ?? '',
        userAgent: event.user_agent ?? '',
        country: sender.data.country ?? '',
      },
      salt,
      randomUUID,
    )
    if (enriched.bot) bots++
    through = event.timestamp
    chunk.push(
      enriched.bot
        ? { site_id: site.id, timezone: site.timezone, timestamp: event.timestamp }
        : enriched.event,
    )
    chunkLines.push(lineNumber)
    if (chunk.length >= CHUNK) await flush()
  }
  await flush()
  const result = await history.finish()
  // The visitor salts of the imported days are over: deleted now, not at the next start.
  await store.sweep(policy)
  return { ...result, bots, rejected }
}
