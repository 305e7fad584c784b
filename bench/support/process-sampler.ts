import { readFileSync } from 'node:fs'

/** Samples a process's VmRSS at a fixed interval; CPU seconds (user + system) on demand. */
export class ProcessSampler {
  private maxRssKb = 0
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly pid: number,
    intervalMs: number,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  private sample(): void {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
      if (match?.[1]) this.maxRssKb = Math.max(this.maxRssKb, Number(match[1]))
    } catch {
      // the process is gone
    }
  }

  /** utime + stime in seconds (assumes the usual 100 clock ticks per second). */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  }

  /** Stops sampling; the highest RSS seen, in MB with one decimal. */
  stop(): number {
    this.sample()
    clearInterval(this.timer)
    return Math.round((this.maxRssKb / 1024) * 10) / 10
  }
}
