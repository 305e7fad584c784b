import {
  addEventContribution,
  addSessionChange,
  addVisitor,
  DeltaAccumulator,
  eventMarks,
  type MarkCandidate,
} from '../core/rollup-deltas.ts'
import type { BotHit, RollupDelta, RollupEvent, SessionState } from '../core/types.ts'
import type { RollupUnit } from '../storage/store.ts'

/** An event to count, with the session it now belongs to. */
export interface CountedEvent {
  event: RollupEvent
  session: SessionState | undefined
}

/** A session as stored before the unit (null: new) and after it (null: merged away). */
export interface CountedChange {
  before: SessionState | null
  after: SessionState | null
  timezone: string
}

const ONE_BOT = Object.freeze({ bots: 1 })

/**
 * The counter deltas of one roll-up unit: what each session change adds or takes back, each
 * event's own counts, the visitors it is the first to mark, and bot hits. The collector's
 * roll-up and the history import both count through here, so they cannot count differently.
 * Marks are claimed in the order `events` gives, which must be time order: a visitor-day is
 * credited to the session the visitor was really first seen in, and a mark repeated in the
 * unit is claimed once (RollupUnit.claimMarks).
 */
export async function unitDeltas(
  unit: RollupUnit,
  input: {
    changes: Iterable<CountedChange>
    events: Iterable<CountedEvent>
    bots: readonly BotHit[]
  },
): Promise<RollupDelta[]> {
  const acc = new DeltaAccumulator(unit.hourlyDimensionsFrom)
  for (const { before, after, timezone } of input.changes) {
    addSessionChange(acc, before, after, timezone)
  }
  const candidates: MarkCandidate[] = []
  for (const { event, session } of input.events) {
    addEventContribution(acc, event, event.timezone)
    for (const candidate of eventMarks(event, event.timezone, session)) candidates.push(candidate)
  }
  if (candidates.length > 0) {
    // A candidate is the mark it claims (a backend reads only the mark's own fields).
    const claimed = await unit.claimMarks(candidates)
    candidates.forEach((candidate, i) => {
      if (claimed[i]) addVisitor(acc, candidate)
    })
  }
  for (const bot of input.bots) acc.addAt(bot, '', '', ONE_BOT)
  return acc.deltas()
}
