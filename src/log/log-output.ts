/** JSON lines for machines (log shippers, CloudWatch's filters), or text for a person. */
export type LogFormat = 'json' | 'pretty'

/** How a process writes its log: plain data, so the main thread hands it to its workers. */
export interface LogOutput {
  format: LogFormat
  /** Colours in the pretty text; never in JSON. */
  colors: boolean
}

/**
 * Pretty on a terminal, JSON lines everywhere else (a pipe, a file, a service manager's
 * journal), so a person watching `npm start` reads text and whatever collects the log
 * still gets one JSON object per line. LOG_FORMAT overrides either way. Colours only on a
 * terminal, and never when NO_COLOR is set (no-color.org): escape codes in a file are noise.
 */
export function chooseLogOutput(options: {
  /** LOG_FORMAT, when set. */
  setting?: LogFormat | undefined
  isTTY: boolean
  noColor?: string | undefined
}): LogOutput {
  const format = options.setting ?? (options.isTTY ? 'pretty' : 'json')
  const colors = format === 'pretty' && options.isTTY && !options.noColor
  return { format, colors }
}

/** This process's choice, by its stdout, where every log line goes. */
export function stdoutLogOutput(setting: LogFormat | undefined): LogOutput {
  return chooseLogOutput({
    setting,
    isTTY: process.stdout.isTTY === true,
    noColor: process.env.NO_COLOR,
  })
}
