import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const round2 = (value: number) => Math.round(value * 100) / 100

/** How busy the machine is besides this benchmark: numbers from a contended host mislead. */
export function contention() {
  let cpuPressureAvg10: number | null = null
  try {
    const match = /some avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    if (match?.[1]) cpuPressureAvg10 = Number(match[1])
  } catch {
    // no PSI on this kernel
  }
  return { loadavg_1m: round2(loadavg()[0] ?? 0), cpu_pressure_some_avg10: cpuPressureAvg10 }
}

/** The commit a benchmark measured, and how many files differed from it. */
export function gitState(): { commit: string; dirty_files: number } | null {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' })
    return {
      commit: git('rev-parse', '--short', 'HEAD').trim(),
      dirty_files: git('status', '--porcelain').split('\n').filter(Boolean).length,
    }
  } catch {
    return null
  }
}
