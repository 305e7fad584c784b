import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { type ColumnarPart, columnarPart, Dictionaries } from './columnar-record.ts'

/**
 * A site's closed record columns (record-columns.ts) saved to a file, so that a restarted
 * server reads them back in seconds instead of reading a busy site's month out of SQLite
 * again, which takes minutes (bench/NOTES.md).
 *
 * A copy is used only while it is still a copy of the record: it carries the record's
 * identity when it was saved (`rewrites`, which grows with every rewrite of the site's past —
 * a user's deletion, in the same transaction, or a bulk load — and `nextOrd`, which grows
 * with every recorded event). It is of this record when the rewrites are equal and its nextOrd
 * is not larger than the record's (a database restored from an older backup has a smaller
 * one). Closed sessions change only through rewrites (record-columns.ts), so an equal count
 * means the closed days it holds are still the record's.
 *
 * The file: a 4-byte length, a JSON header (the dictionaries' values in number order and the
 * arrays' types and lengths), then the arrays' bytes, each at a multiple of 8. Written to a
 * temporary name and renamed, so a crash leaves the old copy or the new one, never half.
 */
export interface SnapshotIdentity {
  rewrites: number
  nextOrd: number
}

export interface ColumnsSnapshot {
  siteId: string
  timeZone: string
  identity: SnapshotIdentity
  /** The columns hold exactly the sessions that ended in [lower, upper). */
  lower: number
  upper: number
  dicts: Dictionaries
  part: ColumnarPart
}

const FORMAT = 1
const ARRAY_TYPES = {
  Float64Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Uint8Array,
} as const
type ArrayTypeName = keyof typeof ARRAY_TYPES
type NumberArray = InstanceType<(typeof ARRAY_TYPES)[ArrayTypeName]>

interface ArrayEntry {
  /** The part's field, and its index when the field is a list of arrays (`columns`). */
  field: string
  index: number | null
  type: ArrayTypeName
  length: number
}

interface Header {
  format: number
  siteId: string
  timeZone: string
  identity: SnapshotIdentity
  lower: number
  upper: number
  dicts: Record<string, string[] | string[][]>
  numbers: Record<string, number>
  arrays: ArrayEntry[]
}

const DICTIONARY_FIELDS = [
  'visitors',
  'days',
  'eventTypes',
  'paths',
  'propKeys',
  'propValues',
] as const

function typeName(array: ArrayBufferView): ArrayTypeName {
  const name = array.constructor.name
  if (!(name in ARRAY_TYPES)) throw new Error(`columns snapshot: no format for ${name}`)
  return name as ArrayTypeName
}

const padded = (n: number) => Math.ceil(n / 8) * 8

/**
 * A part's fields and how many arrays each holds: what a copy saved by another release may
 * not match. Array types are the file's own (a part narrows its columns to fit its values).
 */
function shapeOf(part: object): string {
  return Object.entries(part)
    .map(([field, value]) => {
      if (typeof value === 'number') return `${field}:number`
      if (ArrayBuffer.isView(value)) return `${field}:array`
      if (Array.isArray(value)) return `${field}:[${value.length}]`
      return `${field}:?`
    })
    .sort()
    .join(' ')
}

export class ColumnsSnapshots {
  constructor(private readonly dir: string) {
    // Owner-only, as everything in the data folder.
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }

  private file(siteId: string): string {
    return join(this.dir, `${encodeURIComponent(siteId)}.columns`)
  }

  async save(snapshot: ColumnsSnapshot): Promise<void> {
    const { part, dicts } = snapshot
    const arrays: Array<{ entry: ArrayEntry; array: NumberArray }> = []
    const numbers: Record<string, number> = {}
    for (const [field, value] of Object.entries(part)) {
      if (typeof value === 'number') numbers[field] = value
      else if (ArrayBuffer.isView(value)) {
        const array = value as NumberArray
        arrays.push({
          entry: { field, index: null, type: typeName(array), length: array.length },
          array,
        })
      } else if (Array.isArray(value)) {
        value.forEach((item: NumberArray, index) => {
          arrays.push({
            entry: { field, index, type: typeName(item), length: item.length },
            array: item,
          })
        })
      }
    }
    const header: Header = {
      format: FORMAT,
      siteId: snapshot.siteId,
      timeZone: snapshot.timeZone,
      identity: snapshot.identity,
      lower: snapshot.lower,
      upper: snapshot.upper,
      dicts: {
        columns: dicts.columns.map((d) => d.values),
        ...Object.fromEntries(DICTIONARY_FIELDS.map((f) => [f, dicts[f].values])),
      },
      numbers,
      arrays: arrays.map((a) => a.entry),
    }
    const headerBytes = Buffer.from(JSON.stringify(header))
    const target = this.file(snapshot.siteId)
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`
    const handle = await open(temporary, 'w', 0o600)
    try {
      const length = Buffer.alloc(4)
      length.writeUInt32LE(headerBytes.length)
      await handle.write(length)
      await handle.write(headerBytes)
      let position = 4 + headerBytes.length
      for (const { array } of arrays) {
        const start = padded(position)
        const bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength)
        await handle.write(bytes, 0, bytes.length, start)
        position = start + bytes.length
      }
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, target)
  }

  /**
   * The saved copy for the site; null when there is none, it cannot be read, or it was saved
   * by a release whose columns are laid out otherwise. Each array is read straight into its
   * own memory, so loading takes the columns' size once, not twice.
   */
  async load(siteId: string): Promise<ColumnsSnapshot | null> {
    let handle: FileHandle
    try {
      handle = await open(this.file(siteId), 'r')
    } catch {
      return null
    }
    try {
      const size = (await handle.stat()).size
      const read = async (into: Uint8Array, at: number) => {
        if (into.length === 0) return
        if (at + into.length > size) throw new Error('columns snapshot: cut short')
        const { bytesRead } = await handle.read(into, 0, into.length, at)
        if (bytesRead !== into.length) throw new Error('columns snapshot: cut short')
      }
      const lengthBytes = new Uint8Array(4)
      await read(lengthBytes, 0)
      const length = Buffer.from(lengthBytes).readUInt32LE(0)
      const headerBytes = new Uint8Array(length)
      await read(headerBytes, 4)
      const header = JSON.parse(Buffer.from(headerBytes).toString()) as Header
      if (header.format !== FORMAT || header.siteId !== siteId) return null
      const dicts = new Dictionaries(header.timeZone)
      const columns = header.dicts.columns as string[][]
      if (columns.length !== dicts.columns.length) return null
      columns.forEach((values, c) => {
        const dict = dicts.columns[c] as Dictionaries['columns'][number]
        for (const value of values) dict.id(value)
      })
      for (const field of DICTIONARY_FIELDS) {
        for (const value of header.dicts[field] as string[]) dicts[field].id(value)
      }
      const part: Record<string, unknown> = { ...header.numbers }
      let position = 4 + length
      for (const entry of header.arrays) {
        const type = ARRAY_TYPES[entry.type]
        const start = padded(position)
        const byteLength = entry.length * type.BYTES_PER_ELEMENT
        // Shared memory, as the parts the scan workers read are (columnar-record.ts).
        const buffer = new SharedArrayBuffer(byteLength)
        await read(new Uint8Array(buffer), start)
        position = start + byteLength
        const array = new (type as unknown as new (b: SharedArrayBuffer) => NumberArray)(buffer)
        if (entry.index === null) part[entry.field] = array
        else {
          const list = (part[entry.field] ?? []) as NumberArray[]
          list[entry.index] = array
          part[entry.field] = list
        }
      }
      const template = columnarPart(dicts, [])
      if (shapeOf(part) !== shapeOf(template)) return null
      return {
        siteId,
        timeZone: header.timeZone,
        identity: header.identity,
        lower: header.lower,
        upper: header.upper,
        dicts,
        // Onto a part made as every other is, so the scans see the one object shape they
        // are compiled for.
        part: Object.assign(template, part),
      }
    } catch {
      return null
    } finally {
      await handle.close()
    }
  }

  async remove(siteId: string): Promise<void> {
    await rm(this.file(siteId), { force: true })
  }
}
