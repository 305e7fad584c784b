import type { Filter } from '../core/stats-filters.ts'
import type { Dictionary } from './columnar-record.ts'

/**
 * Per value number of a dictionary: whether a filter's value test holds (`is` and `is not`
 * test equality, the caller negating; `contains` ignores case). A filter is so tested once
 * per distinct value, not once per session or event.
 */
export function testValues(dict: Dictionary, filter: Filter): Uint8Array {
  const ok = new Uint8Array(dict.size)
  if (filter.op === 'contains') {
    const needle = filter.value.toLowerCase()
    dict.values.forEach((value, id) => {
      if (value.toLowerCase().includes(needle)) ok[id] = 1
    })
  } else {
    const id = dict.find(filter.value)
    if (id >= 0) ok[id] = 1
  }
  return ok
}
