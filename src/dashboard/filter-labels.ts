import { readablePath } from '../core/page-url.ts'
import { type Filter, type FilterOp, PROP_PREFIX } from '../core/stats-filters.ts'
import { visibleText } from './visible-text.ts'

const DIMENSION_LABELS: Record<string, string> = {
  page: 'Page',
  entry_page: 'Entry page',
  exit_page: 'Exit page',
  source: 'Source',
  channel: 'Channel',
  referrer: 'Referrer',
  utm_source: 'UTM source',
  utm_medium: 'UTM medium',
  utm_campaign: 'UTM campaign',
  utm_term: 'UTM term',
  utm_content: 'UTM content',
  country: 'Country',
  device: 'Device',
  browser: 'Browser',
  os: 'OS',
  hostname: 'Hostname',
  screen: 'Screen size',
  event: 'Event',
}

const OP_WORDS: Record<FilterOp, string> = { is: 'is', is_not: 'is not', contains: 'contains' }

const PATH_DIMENSIONS = new Set(['page', 'entry_page', 'exit_page'])

const regionNames = new Intl.DisplayNames(['en'], { type: 'region' })

/** A country code as people read it; the code itself when the runtime does not know it. */
export function countryName(code: string): string {
  try {
    return regionNames.of(code) ?? code
  } catch {
    return code
  }
}

export function dimensionLabel(dim: string): string {
  if (dim.startsWith(PROP_PREFIX)) return `Property ${dim.slice(PROP_PREFIX.length)}`
  return DIMENSION_LABELS[dim] ?? dim
}

/** A filter in words, as its chip shows it: "Country is Germany", "Page contains /blog". */
export function filterWords(filter: Filter): { dim: string; op: string; value: string } {
  let value = filter.value
  if (PATH_DIMENSIONS.has(filter.dim)) value = readablePath(value)
  else if (filter.dim === 'country' && filter.op !== 'contains') value = countryName(value)
  return { dim: dimensionLabel(filter.dim), op: OP_WORDS[filter.op], value: visibleText(value) }
}
