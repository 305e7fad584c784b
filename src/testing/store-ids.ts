/** What differs by store alone: ids it drew and visitor hashes under its own salt. */
export function withoutStoreIds(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutStoreIds)
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        k === 'id' || k === 'visitor_id' ? '*' : withoutStoreIds(v),
      ]),
    )
  }
  return value
}
