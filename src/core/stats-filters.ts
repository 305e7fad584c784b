import { z } from 'zod'

/**
 * The `filter` parameters of a stats request (issue 26, item 1), as Plausible writes them:
 * `DIM:VALUE`, `DIM!:VALUE`, `DIM~:TEXT`. The dimension is the text before the first `:`, so
 * a value may hold colons (`page:/a:b`) and a property key may not (`prop.a:b:x` is read as
 * key `a`, value `b:x`): such keys cannot be filtered, as /docs says.
 */

/** Filterable dimensions besides `prop.KEY`: the session ones, then the event ones. */
export const FILTER_SESSION_DIMENSIONS = [
  'entry_page',
  'exit_page',
  'source',
  'channel',
  'referrer',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_term',
  'utm_content',
  'country',
  'device',
  'browser',
  'os',
  'hostname',
  'screen',
] as const
export type FilterSessionDimension = (typeof FILTER_SESSION_DIMENSIONS)[number]

/** Met by a session's events rather than its stored fields (and `prop.KEY`). */
export const FILTER_EVENT_DIMENSIONS = ['page', 'event'] as const

export const PROP_PREFIX = 'prop.'

export type FilterDimension =
  | FilterSessionDimension
  | (typeof FILTER_EVENT_DIMENSIONS)[number]
  | `prop.${string}`

/**
 * `is`: the value equals VALUE (`:`). `is_not`: it does not (`!:`). `contains`: it holds TEXT,
 * ignoring case (`~:`).
 */
export type FilterOp = 'is' | 'is_not' | 'contains'

export interface Filter {
  dim: FilterDimension
  op: FilterOp
  value: string
}

/** Enough for any view a person builds by clicking; a bound on the work one request asks. */
export const MAX_FILTERS = 10

const OPERATORS: Record<string, FilterOp> = { '': 'is', '!': 'is_not', '~': 'contains' }
const OP_SIGNS: Record<FilterOp, string> = { is: '', is_not: '!', contains: '~' }

const KNOWN = new Set<string>([...FILTER_SESSION_DIMENSIONS, ...FILTER_EVENT_DIMENSIONS])

export function isEventDimension(dim: FilterDimension): boolean {
  return dim === 'page' || dim === 'event' || dim.startsWith(PROP_PREFIX)
}

/** One `filter` parameter, or the reason it is not one. */
export function parseFilter(text: string): Filter | { error: string } {
  const at = text.indexOf(':')
  if (at < 0) return { error: `"${text}" is not DIM:VALUE, DIM!:VALUE or DIM~:TEXT` }
  let dim = text.slice(0, at)
  const value = text.slice(at + 1)
  let op: FilterOp = 'is'
  const sign = dim.slice(-1)
  if (sign === '!' || sign === '~') {
    op = OPERATORS[sign] as FilterOp
    dim = dim.slice(0, -1)
  }
  const isProp = dim.startsWith(PROP_PREFIX) && dim.length > PROP_PREFIX.length
  if (!isProp && !KNOWN.has(dim)) {
    // `page>:x`: a known dimension with a sign that is no operator.
    if (KNOWN.has(dim.slice(0, -1))) {
      return { error: `unknown operator "${dim.slice(-1)}:" in "${text}": use :, !: or ~:` }
    }
    return { error: `unknown dimension "${dim}"` }
  }
  if (value === '') return { error: `"${text}" has no value` }
  return { dim: dim as FilterDimension, op, value }
}

/** The parameter text of a filter: `parseFilter(filterText(f))` gives `f` back. */
export function filterText(filter: Filter): string {
  return `${filter.dim}${OP_SIGNS[filter.op]}:${filter.value}`
}

/**
 * The `filter` parameter, once or repeated: a list of filters that must all hold. Repeats of
 * the same filter count once, so a link that adds one already applied changes nothing.
 */
export const FiltersParamSchema = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((raw, ctx): Filter[] => {
    const texts = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    const unique = [...new Set(texts)]
    if (unique.length > MAX_FILTERS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_FILTERS} filters` })
      return z.NEVER
    }
    const out: Filter[] = []
    for (const text of unique) {
      const parsed = parseFilter(text)
      if ('error' in parsed) ctx.addIssue({ code: 'custom', message: parsed.error })
      else out.push(parsed)
    }
    return out
  })
