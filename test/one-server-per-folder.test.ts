import { spawn } from 'node:child_process'
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { startArgs } from '../scripts/start-command.ts'
import { holderFile } from '../src/entry/data-lock.ts'
import { tempDir } from '../src/testing/temp-dir.ts'
import { exited, spawnServer } from './support/child-server.ts'
import { type Exited, runToExit, STACK_FRAME } from './support/run-to-exit.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const dir = tempDir()
afterAll(() => dir.remove())
const env = { DATA_DIR: dir.path, ADMIN_PASSWORD: 'one-server-test-pw-1' }

/** `npm start` run to its end: its exit code and what it printed on stderr. */
function startToExit(overrides: Record<string, string> = {}): Promise<Exited> {
  return runToExit(process.execPath, startArgs(ROOT), {
    ...process.env,
    PORT: '0',
    ...env,
    ...overrides,
  })
}

describe('one server per data folder', () => {
  it('refuses a second server, leaves the first alone, and frees the folder when the first dies', async () => {
    const first = await spawnServer(env)
    const second = await startToExit()
    expect(second.code).toBe(1)
    expect(second.stderr).toContain(
      `liveinsight: ${dir.path} is in use by another LiveInsight process (pid ${first.child.pid}, server): stop it first`,
    )
    // The first goes on, and the record of who holds the folder is still its own.
    expect((await fetch(`${first.url}/health`)).status).toBe(200)
    expect(readFileSync(holderFile(dir.path), 'utf8')).toBe(`${first.child.pid} server\n`)
    // Killed outright: the OS lets the lock go, and the next server starts.
    first.child.kill('SIGKILL')
    await exited(first.child)
    const next = await spawnServer(env)
    expect((await fetch(`${next.url}/health`)).status).toBe(200)
    next.child.kill('SIGTERM')
    await exited(next.child)
  })
})

describe('npm run backup', () => {
  it('copies the database while the server runs, owner-only', async () => {
    const server = await spawnServer(env)
    const file = join(dir.path, '..', `backup-${process.pid}.db`)
    try {
      const done = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', 'src/entry/backup.ts', file], {
          cwd: ROOT,
          env: { ...process.env, ...env },
          stdio: ['ignore', 'pipe', 'inherit'],
        })
        let stdout = ''
        child.stdout?.on('data', (chunk) => {
          stdout += String(chunk)
        })
        child.once('exit', (code) => resolve({ code, stdout }))
      })
      expect(done.code).toBe(0)
      expect(JSON.parse(done.stdout)).toMatchObject({ backup: file })
      expect(statSync(file).mode & 0o777).toBe(0o600)
      // A database of its own, with what the server had stored: its default site.
      const copy = new Database(file, { readonly: true })
      expect(copy.prepare('SELECT count(*) FROM sites').pluck().get()).toBe(1)
      copy.close()
    } finally {
      server.child.kill('SIGTERM')
      await exited(server.child)
      rmSync(file, { force: true })
    }
  })
})

describe('start-up failures say what to do, in a line', () => {
  it('names a port in use and PORT, and exits 2', async () => {
    const first = await spawnServer(env)
    try {
      const port = new URL(first.url).port
      const other = join(dir.path, '..', `other-${process.pid}`)
      const refused = await startToExit({ PORT: port, DATA_DIR: other })
      rmSync(other, { recursive: true, force: true })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain(`liveinsight: port ${port} is in use`)
      expect(refused.stderr).toContain('set PORT to a free port')
      // A line to act on, not a stack trace.
      expect(refused.stderr).not.toMatch(STACK_FRAME)
    } finally {
      first.child.kill('SIGTERM')
      await exited(first.child)
    }
  })

  it('names a data folder it cannot use and DATA_DIR, and exits 1', async () => {
    // A folder inside a file: no user can create it.
    const file = join(dir.path, '..', `a-file-${process.pid}`)
    writeFileSync(file, '')
    const refused = await startToExit({ DATA_DIR: join(file, 'data') })
    rmSync(file, { force: true })
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain(
      `liveinsight: cannot use the data folder ${join(file, 'data')}`,
    )
    expect(refused.stderr).toContain('set DATA_DIR')
    expect(refused.stderr).not.toMatch(STACK_FRAME)
  })
})
