/**
 * Orders two positions of one stream (storage/store.ts `StreamPosition`): decimal numbers as
 * text, of any length, without leading zeros. DynamoDB's sequence numbers run to 40 digits,
 * past what a double holds exactly, so they are compared as text: the longer is the larger,
 * and text of equal length compares digit by digit.
 */
export function comparePositions(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length
  return a < b ? -1 : a > b ? 1 : 0
}

/** The later of two positions of one stream; `undefined` counts as before every position. */
export function laterPosition(a: string | undefined, b: string): string {
  return a === undefined || comparePositions(b, a) > 0 ? b : a
}
