/** Page URL normalisation and UTM extraction. */

const UTM_KEYS = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content'] as const

export interface NormalizedPage {
  /** Absolute URL: lower-case host, no fragment, only UTM parameters kept. */
  url: string
  host: string
  /** Path for the page dimension: no query, one trailing-slash form ("/blog/" is "/blog"). */
  path: string
  utm_source: string
  utm_medium: string
  utm_campaign: string
  utm_term: string
  utm_content: string
}

export function unifyTrailingSlash(path: string): string {
  if (path.length > 1 && path.endsWith('/')) return path.replace(/\/+$/, '') || '/'
  return path || '/'
}

/** `raw` must already be a valid absolute http(s) URL (the event schema checks that). */
export function normalizePageUrl(raw: string): NormalizedPage {
  const url = new URL(raw)
  const kept = new URLSearchParams()
  for (const key of UTM_KEYS) {
    const value = url.searchParams.get(key)
    if (value) kept.set(key, value)
  }
  // URL already lower-cases the host; drop default ports, fragment and non-UTM query.
  const path = unifyTrailingSlash(url.pathname)
  const query = kept.toString()
  return {
    url: `${url.protocol}//${url.host}${path}${query ? `?${query}` : ''}`,
    host: url.hostname,
    path,
    utm_source: clip(kept.get('utm_source')),
    utm_medium: clip(kept.get('utm_medium')),
    utm_campaign: clip(kept.get('utm_campaign')),
    utm_term: clip(kept.get('utm_term')),
    utm_content: clip(kept.get('utm_content')),
  }
}

function clip(value: string | null): string {
  return (value ?? '').trim().slice(0, 128)
}

/** Paths are stored percent-encoded; people read them decoded (a bad escape stays as is). */
export function readablePath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}
