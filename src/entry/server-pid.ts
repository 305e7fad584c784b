import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A running server's pid, in DATA_DIR, so tools that must not run next to it can tell: a
 * history import alongside a running server would count visitors twice, because the server's
 * roll-up keeps the day's visitor marks in its own memory.
 */
const FILE = 'liveinsight.pid'

export function pidFile(dataDir: string): string {
  return join(dataDir, FILE)
}

/** Records this process as the data directory's server; the returned function removes it. */
export function recordServerPid(dataDir: string): () => void {
  const file = pidFile(dataDir)
  writeFileSync(file, `${process.pid}\n`)
  return () => {
    // Only our own record: a later server on the same directory may have replaced it.
    if (serverPidIn(dataDir) === process.pid) rmSync(file, { force: true })
  }
}

function serverPidIn(dataDir: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(pidFile(dataDir), 'utf8'), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** The pid of a live server recorded in the data directory; null when none runs. */
export function runningServerPid(dataDir: string): number | null {
  const pid = serverPidIn(dataDir)
  if (pid === null) return null
  try {
    // Signal 0 only checks that the process exists (a server killed with -9 leaves its file).
    process.kill(pid, 0)
    return pid
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM' ? pid : null
  }
}
