/** pino's level numbers, as a person reads them. */
const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
}

const LEVEL_COLORS: Record<number, string> = {
  10: '90',
  20: '36',
  30: '32',
  40: '33',
  50: '31',
  60: '35',
}

/** What the line is about; the other fields follow it as key=value. */
const HEADER_FIELDS = new Set(['time', 'level', 'msg'])

const paint = (code: string, text: string, colors: boolean) =>
  colors ? `\u001b[${code}m${text}\u001b[39m` : text

/**
 * One JSON log line as a person reads it on a terminal:
 *
 *   05:31:13.123Z INFO  listening port=8787 url=http://127.0.0.1:8787 service=liveinsight
 *
 * Every field of the JSON line is there (the same logger call, the same fields): the time of
 * day (UTC, as in JSON), the level by name, the message, then each other field as key=value
 * in the order they were logged. An error's stack follows on its own indented lines, where a
 * person reads a stack; the rest of the error stays inline. A line that is not JSON is
 * passed through as it is.
 */
export function prettyLine(line: string, colors: boolean): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return `${line}\n`
  }
  if (entry === null || typeof entry !== 'object') return `${line}\n`
  const level = typeof entry.level === 'number' ? entry.level : 30
  const label = (LEVELS[level] ?? String(entry.level)).padEnd(5)
  const parts = [
    paint('2', timeOfDay(entry.time), colors),
    paint(LEVEL_COLORS[level] ?? '39', label, colors),
  ]
  if (entry.msg !== undefined) parts.push(String(entry.msg))
  const stacks: string[] = []
  for (const [key, value] of Object.entries(entry)) {
    if (HEADER_FIELDS.has(key)) continue
    if (isErrorLike(value)) {
      const { stack, ...rest } = value
      parts.push(`${key}=${JSON.stringify(rest)}`)
      stacks.push(`    ${key}: ${stack.split('\n').join('\n    ')}`)
      continue
    }
    parts.push(`${key}=${shown(value)}`)
  }
  return `${[parts.join(' '), ...stacks].join('\n')}\n`
}

function timeOfDay(time: unknown): string {
  if (typeof time === 'string') return time.slice(time.indexOf('T') + 1)
  if (typeof time === 'number') return new Date(time).toISOString().slice(11)
  return '-'
}

/** A bare word when it reads as one; quoted (and escaped) when spaces or quotes would mislead. */
function shown(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  if (value !== null && typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

function isErrorLike(value: unknown): value is { stack: string } & Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { stack?: unknown }).stack === 'string'
  )
}
