import { chmodSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { tempDir } from '../src/testing/temp-dir.ts'
import { exited, spawnServer } from './support/child-server.ts'

const dir = tempDir()
afterAll(() => dir.remove())

const modeOf = (path: string) => statSync(path).mode & 0o777

/** The data folder's mode and every file's and folder's in it, as `ls -lR` would show them. */
function modes(dataDir: string): Record<string, number> {
  const out: Record<string, number> = { '.': modeOf(dataDir) }
  for (const entry of readdirSync(dataDir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name)
    out[path.slice(dataDir.length + 1)] = modeOf(path)
  }
  return out
}

const folders = new Set(['.', 'record-columns'])

async function startAndStop(dataDir: string) {
  const server = await spawnServer({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'permissions-test-pw-1' })
  // The files a running server holds open: the database, its WAL and shared memory, the pid.
  const running = modes(dataDir)
  server.child.kill('SIGTERM')
  await exited(server.child)
  return { running, output: server.output() }
}

describe('the data folder is the owner’s alone', () => {
  it('is created 0700, and every file the server writes in it 0600', async () => {
    const dataDir = join(dir.path, 'fresh', 'data')
    const { running } = await startAndStop(dataDir)
    expect(running['.']).toBe(0o700)
    expect(running['liveinsight.db']).toBe(0o600)
    for (const [name, mode] of Object.entries(running)) {
      expect(mode, name).toBe(folders.has(name) ? 0o700 : 0o600)
    }
    expect(Object.keys(running)).toContain('liveinsight.db-wal')
  })

  it('tightens a folder and files others could read, and says so', async () => {
    const dataDir = join(dir.path, 'loose')
    await startAndStop(dataDir)
    // As an earlier release left them, or a backup restored them.
    chmodSync(dataDir, 0o755)
    chmodSync(join(dataDir, 'liveinsight.db'), 0o644)
    const { running, output } = await startAndStop(dataDir)
    expect(running['.']).toBe(0o700)
    expect(running['liveinsight.db']).toBe(0o600)
    expect(output).toContain('others could read this')
    expect(output).toContain(join(dataDir, 'liveinsight.db'))
  })
})
