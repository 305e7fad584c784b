import type Database from 'better-sqlite3'
import { groupByDay, packMarks, unpackMarks } from '../../core/mark-hash.ts'
import { BloomFilter } from './bloom-filter.ts'
import { MarkSet } from './mark-set.ts'

/** Marks kept in memory by default, all days together: about 16–32 MB of MarkSet slots. */
export const DEFAULT_MEMORY_MARKS = 1_000_000
/** Rows moved to the table per transaction, so accepts never wait long for the write lock. */
const SPILL_CHUNK = 20_000

/** What one roll-up unit claimed: written with the unit, or given back when it fails. */
export interface UnitMarks {
  /** Claimed in days kept in memory. */
  inMemory: Array<{ day: string; set: MarkSet; hash: number }>
  /** Claimed in days kept in the table; the key set finds a mark repeated within the unit. */
  inTable: Array<[day: string, hash: number]>
  inTableKeys: Set<string>
}

export function newUnitMarks(): UnitMarks {
  return { inMemory: [], inTable: [], inTableKeys: new Set() }
}

/** Empties a unit's claims once its write has them: nothing is given back after that. */
export function clearUnitMarks(unit: UnitMarks): void {
  unit.inMemory = []
  unit.inTable = []
  unit.inTableKeys = new Set()
}

/**
 * Visitor marks by day (core/mark-hash.ts): which visitors were already counted in which scope that
 * day. A day starts in memory, as a MarkSet loaded from its packed log rows
 * (`visitor_mark_blocks`, one blob per write). While memory holds more marks than its limit,
 * the largest day moves to an indexed table (`visitor_marks`, one row per mark) with a Bloom
 * filter in front: a flood of new visitors then costs a fixed amount of memory per day, and
 * a new mark still almost never needs a lookup. Counting stays exact either way.
 */
export class VisitorMarks {
  private readonly memory = new Map<string, MarkSet>()
  private readonly inTable = new Map<string, BloomFilter>()
  private readonly s

  constructor(
    private readonly db: Database.Database,
    private readonly limits: { memoryMarks: number; daysLoaded: number },
  ) {
    this.s = {
      blocksOfDay: db.prepare('SELECT marks FROM visitor_mark_blocks WHERE day = ?').pluck(),
      dropBlocks: db.prepare('DELETE FROM visitor_mark_blocks WHERE day = ?'),
      hasTableRows: db.prepare('SELECT 1 FROM visitor_marks WHERE day = ? LIMIT 1').pluck(),
      rowsOfDay: db.prepare('SELECT hash FROM visitor_marks WHERE day = ?').pluck(),
      exists: db.prepare('SELECT 1 FROM visitor_marks WHERE day = ? AND hash = ?').pluck(),
      insert: db.prepare('INSERT OR IGNORE INTO visitor_marks (day, hash) VALUES (?, ?)'),
      sweepBlocks: db.prepare('DELETE FROM visitor_mark_blocks WHERE day < ?'),
      sweepRows: db.prepare('DELETE FROM visitor_marks WHERE day < ?'),
    }
  }

  /** Whether the day is loaded (if not, `claim` reads it: wait for writes in flight first). */
  loaded(day: string): boolean {
    return this.memory.has(day) || this.inTable.has(day)
  }

  /** Claims a mark for a unit; true when it is new (this visitor's first in that scope). */
  claim(day: string, hash: number, unit: UnitMarks): boolean {
    if (!this.loaded(day)) this.load(day)
    const set = this.memory.get(day)
    if (set) {
      if (!set.add(hash)) return false
      unit.inMemory.push({ day, set, hash })
      return true
    }
    const bloom = this.inTable.get(day) as BloomFilter
    const key = `${day}:${hash}`
    if (unit.inTableKeys.has(key)) return false
    if (bloom.mightHave(hash) && this.s.exists.get(day, hash) !== undefined) return false
    bloom.add(hash)
    unit.inTable.push([day, hash])
    unit.inTableKeys.add(key)
    return true
  }

  /** A failed unit's claims: taken back out of memory (a Bloom bit left set costs a lookup). */
  giveBack(unit: UnitMarks): void {
    for (const { set, hash } of unit.inMemory) set.delete(hash)
    clearUnitMarks(unit)
  }

  /** What the unit's write stores: one packed blob per in-memory day, a row per table mark. */
  rows(unit: UnitMarks): {
    blocks: Array<[day: string, packed: Uint8Array]>
    tableRows: Array<[day: string, hash: number]>
  } {
    return {
      blocks: [...groupByDay(unit.inMemory)].map(([day, hashes]) => [day, packMarks(hashes)]),
      tableRows: unit.inTable,
    }
  }

  /** Between units, once their writes are committed: days beyond the few in use are unloaded. */
  unloadOldDays(): void {
    const days = [...new Set([...this.memory.keys(), ...this.inTable.keys()])].sort()
    for (const day of days.slice(0, Math.max(0, days.length - this.limits.daysLoaded))) {
      this.memory.delete(day)
      this.inTable.delete(day)
    }
  }

  /** Whether memory holds more marks than its limit (`moveLargestDay` then runs). */
  get overLimit(): boolean {
    let held = 0
    for (const set of this.memory.values()) held += set.size
    return held > this.limits.memoryMarks
  }

  /**
   * Moves the largest in-memory day to the table, in short transactions; call between units,
   * once their writes are committed (the store's unit queue), so no claim runs meanwhile. A
   * crash part way leaves rows and blocks of the day both, which `load` folds together.
   */
  async moveLargestDay(): Promise<string | undefined> {
    let largest: [string, MarkSet] | undefined
    for (const entry of this.memory)
      if (!largest || entry[1].size > largest[1].size) largest = entry
    if (!largest) return undefined
    const [day, set] = largest
    const bloom = new BloomFilter()
    let chunk: number[] = []
    const flush = this.db.transaction((hashes: number[]) => {
      for (const hash of hashes) this.s.insert.run(day, hash)
    })
    for (const hash of set.values()) {
      bloom.add(hash)
      chunk.push(hash)
      if (chunk.length === SPILL_CHUNK) {
        flush(chunk)
        chunk = []
        await new Promise((resolve) => setImmediate(resolve))
      }
    }
    this.db.transaction(() => {
      flush(chunk)
      this.s.dropBlocks.run(day)
    })()
    this.memory.delete(day)
    this.inTable.set(day, bloom)
    return day
  }

  /** Forgets days before `keepFrom`, in memory and in the file; returns the rows deleted. */
  sweep(keepFrom: string): number {
    for (const day of [...this.memory.keys(), ...this.inTable.keys()]) {
      if (day < keepFrom) {
        this.memory.delete(day)
        this.inTable.delete(day)
      }
    }
    return this.s.sweepBlocks.run(keepFrom).changes + this.s.sweepRows.run(keepFrom).changes
  }

  /** Marks held in memory, for tests of the bound. */
  get memoryMarks(): number {
    let held = 0
    for (const set of this.memory.values()) held += set.size
    return held
  }

  private load(day: string): void {
    const blocks = this.s.blocksOfDay.all(day) as Buffer[]
    if (this.s.hasTableRows.get(day) === undefined) {
      const set = new MarkSet()
      for (const packed of blocks) for (const hash of unpackMarks(packed)) set.add(hash)
      this.memory.set(day, set)
      return
    }
    if (blocks.length > 0) {
      // A move to the table that a crash cut short: the rest of its blocks join the rows.
      this.db.transaction(() => {
        for (const packed of blocks)
          for (const hash of unpackMarks(packed)) this.s.insert.run(day, hash)
        this.s.dropBlocks.run(day)
      })()
    }
    const bloom = new BloomFilter()
    for (const hash of this.s.rowsOfDay.iterate(day) as IterableIterator<number>) bloom.add(hash)
    this.inTable.set(day, bloom)
  }
}
