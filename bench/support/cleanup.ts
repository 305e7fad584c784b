import type { ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'

/**
 * Every child process and temp dir a benchmark makes is registered here and removed on any
 * way out: normal exit, Ctrl-C, or the benchmark's overall time limit.
 */
export function cleanupOnExit(limitMs: number) {
  const children = new Set<ChildProcess>()
  const tempDirs = new Set<string>()

  const cleanupSync = (): void => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
    children.clear()
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
    tempDirs.clear()
  }

  process.on('exit', cleanupSync)
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, cleaning up\n`)
      cleanupSync()
      process.exit(130)
    })
  }
  setTimeout(() => {
    process.stderr.write(`bench: still running after ${limitMs / 60_000} min, aborting\n`)
    cleanupSync()
    process.exit(1)
  }, limitMs).unref()

  return { children, tempDirs, cleanupSync }
}
