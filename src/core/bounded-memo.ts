/**
 * Remembers a pure function's results for recent distinct inputs. Traffic repeats a small set
 * of user agents, page URLs and referrers, while parsing them (regexes, WHATWG URL) costs tens
 * of µs and garbage on the accept path. Cleared whole when full: cheaper than LRU
 * bookkeeping, and the hot values are back after a few requests. Results are shared between
 * callers, so they are frozen.
 */
export function boundedMemo<I, R extends object>(
  limit: number,
  keyOf: (input: I) => string,
  compute: (input: I) => R,
): (input: I) => Readonly<R> {
  const cache = new Map<string, Readonly<R>>()
  return (input) => {
    const key = keyOf(input)
    const hit = cache.get(key)
    if (hit) return hit
    const result = Object.freeze(compute(input))
    if (cache.size >= limit) cache.clear()
    cache.set(key, result)
    return result
  }
}
