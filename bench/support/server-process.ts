import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A server started by a benchmark as a child process, on a fresh DATA_DIR of its own. */
export interface ServerProcess {
  child: ChildProcess
  pid: number
  url: string
  dataDir: string
  /** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone. */
  stop: () => Promise<void>
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The port from the server's `{"msg":"listening","port":N}` line in its stdout log. */
function listeningPort(logFile: string): number | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { msg?: unknown; port?: unknown }
      if (entry.msg === 'listening' && typeof entry.port === 'number') return entry.port
    } catch {
      // a line still being written
    }
  }
  return undefined
}

/**
 * Starts `node …args` on 127.0.0.1 and a free port, with a fresh DATA_DIR in a temp dir, and
 * waits until it logs that it listens. stdout (one JSON log line per request at
 * LOG_LEVEL=info) goes straight to a file, so it can never back up; cwd is the temp dir so
 * no stray `.env` changes the configuration. The child and the temp dir are registered for
 * cleanup (support/cleanup.ts).
 */
export async function startServerProcess(input: {
  name: string
  args: readonly string[]
  env: Record<string, string>
  children: Set<ChildProcess>
  tempDirs: Set<string>
}): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), `liveinsight-bench-${input.name}-`))
  input.tempDirs.add(dir)
  const dataDir = join(dir, 'data')
  mkdirSync(dataDir)
  const logFile = join(dir, 'stdout.log')
  const logFd = openSync(logFile, 'w')
  const host = '127.0.0.1'
  const child = spawn(process.execPath, [...input.args], {
    cwd: dir,
    env: { ...process.env, HOST: host, PORT: '0', DATA_DIR: dataDir, ...input.env },
    stdio: ['ignore', logFd, 'pipe'],
  })
  closeSync(logFd)
  input.children.add(child)
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-16_384)
  })

  const stop = async () => {
    if (!exited(child)) {
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await done
      clearTimeout(timer)
    }
    input.children.delete(child)
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    const port = listeningPort(logFile)
    if (port !== undefined && child.pid !== undefined) {
      return { child, pid: child.pid, url: `http://${host}:${port}`, dataDir, stop }
    }
    if (exited(child) || Date.now() > deadline) {
      await stop()
      throw new Error(`${input.name} server did not start:\n${stderr}`)
    }
    await sleep(50)
  }
}
