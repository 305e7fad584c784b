import { describe, expect, it } from 'vitest'
import { chooseLogOutput } from './log-output.ts'
import { createLogger, type Logger } from './logger.ts'

describe('which log a process writes', () => {
  it('is pretty and coloured on a terminal, JSON lines anywhere else', () => {
    expect(chooseLogOutput({ isTTY: true })).toEqual({ format: 'pretty', colors: true })
    expect(chooseLogOutput({ isTTY: false })).toEqual({ format: 'json', colors: false })
  })

  it('is what LOG_FORMAT says either way, coloured only on a terminal', () => {
    expect(chooseLogOutput({ setting: 'json', isTTY: true })).toEqual({
      format: 'json',
      colors: false,
    })
    expect(chooseLogOutput({ setting: 'pretty', isTTY: false })).toEqual({
      format: 'pretty',
      colors: false,
    })
    expect(chooseLogOutput({ setting: 'pretty', isTTY: true })).toEqual({
      format: 'pretty',
      colors: true,
    })
  })

  it('leaves the colours out when NO_COLOR is set', () => {
    expect(chooseLogOutput({ isTTY: true, noColor: '1' })).toEqual({
      format: 'pretty',
      colors: false,
    })
  })
})

/** A logger whose lines are kept, as written to stdout. */
function capturing(options: { format: 'json' | 'pretty'; colors?: boolean }) {
  const written: string[] = []
  const logger = createLogger('debug', {
    ...options,
    destination: { write: (line: string) => written.push(line) },
  })
  return { logger, lines: () => written.join('').split('\n').slice(0, -1) }
}

/** The same calls, as the server makes them: a child's bindings, numbers, text with spaces, an error. */
function logTheDay(logger: Logger) {
  const rollup = logger.child({ thread: 'rollup' })
  logger.info({ port: 8787, url: 'http://127.0.0.1:8787', storage: 'sqlite' }, 'listening')
  rollup.warn(
    { path: '/data dir/liveinsight.db', was: '0644', removed: { events: 3 } },
    'tightened',
  )
  const failure = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' })
  rollup.error({ err: failure, items: 2 }, 'roll-up failed')
}

const LEVEL_NAMES: Record<number, string> = { 30: 'INFO', 40: 'WARN', 50: 'ERROR' }

describe('the pretty log', () => {
  it('carries every field of the JSON line, as text a person reads', () => {
    const json = capturing({ format: 'json' })
    const pretty = capturing({ format: 'pretty' })
    logTheDay(json.logger)
    logTheDay(pretty.logger)

    const entries = json.lines().map((line) => JSON.parse(line) as Record<string, unknown>)
    // The error's stack lines follow its entry's line, indented.
    const heads = pretty.lines().filter((line) => !line.startsWith(' '))
    expect(heads).toHaveLength(entries.length)
    entries.forEach((entry, i) => {
      const head = heads[i] as string
      // Text, not JSON: the time of day, the level by name, the message, then the fields.
      expect(head).toMatch(/^\d\d:\d\d:\d\d\.\d{3}Z /)
      expect(head).toContain(` ${LEVEL_NAMES[entry.level as number]} `)
      expect(head).toContain(` ${entry.msg} `)
      for (const [key, value] of Object.entries(entry)) {
        if (key === 'time' || key === 'level' || key === 'msg' || key === 'err') continue
        const text =
          typeof value === 'string'
            ? /\s/.test(value)
              ? JSON.stringify(value)
              : value
            : JSON.stringify(value)
        expect(head, key).toContain(` ${key}=${text}`)
      }
    })
    const [listening, tightened, failed] = heads
    expect(listening).toContain(
      'INFO  listening service=liveinsight port=8787 url=http://127.0.0.1:8787 storage=sqlite',
    )
    expect(tightened).toContain(
      'thread=rollup path="/data dir/liveinsight.db" was=0644 removed={"events":3}',
    )
    expect(failed).toContain(
      'err={"type":"Error","message":"disk I/O error","code":"SQLITE_IOERR"}',
    )
    const stack = pretty.lines().filter((line) => line.startsWith(' '))
    expect(stack[0]).toBe('    err: Error: disk I/O error')
    expect(stack[1]).toMatch(/^ {8}at /)
  })

  it('colours the level on a terminal, and writes no escape codes elsewhere', () => {
    const plain = capturing({ format: 'pretty', colors: false })
    const coloured = capturing({ format: 'pretty', colors: true })
    for (const { logger } of [plain, coloured]) logger.warn('queue is long')
    expect(plain.lines()[0]).not.toContain('\u001b[')
    expect(coloured.lines()[0]).toContain('\u001b[33mWARN \u001b[39m queue is long')
  })
})
