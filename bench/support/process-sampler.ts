import { readdirSync, readFileSync } from 'node:fs'

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
    const kb = rssKb(this.pid)
    if (kb !== undefined) this.maxRssKb = Math.max(this.maxRssKb, kb)
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

/**
 * A process's VmRSS in kB, undefined once it is gone. Worker threads share their process's
 * memory, so this is the whole server (its HTTP thread and every worker thread).
 */
export function rssKb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match?.[1] ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

/**
 * The VmRSS of a process and every process below it, in kB: the server starts none today,
 * but one that did (a child per job, a helper binary) would still be measured whole. Found
 * by each process's parent in /proc/PID/stat (this kernel has no /proc/PID/task/TID/children).
 */
export function treeRssKb(pid: number): number | undefined {
  const own = rssKb(pid)
  if (own === undefined) return undefined
  const childrenOf = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const siblings = childrenOf.get(parent)
      if (siblings) siblings.push(Number(name))
      else childrenOf.set(parent, [Number(name)])
    } catch {
      // exited while listing
    }
  }
  let total = own
  const queue = [...(childrenOf.get(pid) ?? [])]
  for (let next = queue.pop(); next !== undefined; next = queue.pop()) {
    total += rssKb(next) ?? 0
    queue.push(...(childrenOf.get(next) ?? []))
  }
  return total
}
