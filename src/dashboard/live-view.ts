/**
 * What the server's first render of the live panel and the browser's re-renders share:
 * class names and links. Plain strings only, so it bundles for the browser unchanged.
 */
export const LIVE_CLASS = {
  pageItem: 'flex items-center justify-between gap-3 py-1.5 text-sm',
  pagePath: 'min-w-0 truncate font-mono text-xs',
  pageCount: 'shrink-0 font-semibold tabular-nums',
  feedItem: 'border-t border-slate-100 first:border-t-0 dark:border-slate-800',
  feedLink:
    'flex flex-wrap items-baseline gap-x-2 rounded px-1 py-1.5 text-sm hover:bg-slate-50 dark:hover:bg-slate-800',
  feedTime: 'shrink-0 font-mono text-xs text-slate-600 tabular-nums dark:text-slate-400',
  feedType:
    'shrink-0 rounded bg-indigo-50 px-1.5 text-xs font-medium text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200',
  feedPath: 'min-w-0 max-w-full truncate font-mono text-xs',
  feedTitle: 'min-w-0 max-w-full truncate text-xs text-slate-600 dark:text-slate-400',
  empty: 'py-2 text-sm text-slate-600 dark:text-slate-400',
} as const

/** A live count as shown: "≈" before an estimate (RealtimeSnapshot.approximate). */
export function liveCount(count: number, approximate: boolean): string {
  return `${approximate ? '≈' : ''}${count}`
}

/** The dashboard page that finds a stored session from what a live event knows. */
export function timelineHref(siteId: string, sessionId: string, timestamp: string): string {
  return `/timeline?${new URLSearchParams({ site: siteId, sid: sessionId, at: timestamp })}`
}

/** "12:34:56" in the viewer's time zone when known (browser), UTC otherwise (server). */
export function clockTime(iso: string, timeZone?: string): string {
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return ''
  return date.toLocaleTimeString('en-GB', { hour12: false, ...(timeZone ? { timeZone } : {}) })
}
