import { type Filter, filterText } from '../core/stats-filters.ts'

/** What a dashboard URL holds: every state can be linked, bookmarked, reloaded and pushed. */
export interface ViewState {
  siteId: string
  period: string
  filters?: readonly Filter[]
  /** The custom property the properties panel breaks down. */
  props?: string | null
}

/** The page's own URL for a view: the period, each filter as its own `filter`, the property. */
export function dashboardHref(v: ViewState): string {
  const q = new URLSearchParams({ site: v.siteId, period: v.period })
  for (const filter of v.filters ?? []) q.append('filter', filterText(filter))
  if (v.props) q.set('props', v.props)
  return `/?${q}`
}

const same = (a: Filter, b: Filter) => a.dim === b.dim && a.op === b.op && a.value === b.value

/** The view with one more filter (unchanged when it already holds it). */
export function withFilter(v: ViewState, filter: Filter): ViewState {
  const filters = v.filters ?? []
  return filters.some((f) => same(f, filter)) ? v : { ...v, filters: [...filters, filter] }
}

export function withoutFilter(v: ViewState, filter: Filter): ViewState {
  return { ...v, filters: (v.filters ?? []).filter((f) => !same(f, filter)) }
}
