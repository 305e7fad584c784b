import { accessSync, chmodSync, constants, mkdirSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../log/logger.ts'

/**
 * What the server's process creates is its user's alone: the data folder holds every
 * visitor's events and the key that signs dashboard tokens, which anyone able to read the
 * database could use to forge a sign-in. Set once by each entry that writes there (`npm
 * start`, `npm run import`) before anything is opened, so SQLite's database, WAL and
 * shared-memory files, the pid file and anything later are created owner-only too.
 */
export const OWNER_ONLY_UMASK = 0o077

/**
 * Makes the data folder (0700) and every file in it (0600) the owner's alone, creating the
 * folder if needed: an install from before this rule, or one a backup restored with looser
 * modes, is tightened at start, with a warning naming what was readable by others.
 */
export function ownerOnlyDataDir(dir: string, logger: Logger): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    tighten(dir, 0o700, logger)
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile()) tighten(join(dir, entry.name), 0o600, logger)
    }
    // A folder on a read-only file system (or another user's) passes all of the above when
    // its modes are already tight; said here, rather than by SQLite on the first file it opens.
    accessSync(dir, constants.W_OK)
  } catch (error) {
    throw new DataDirUnusableError(dir, (error as NodeJS.ErrnoException).code, error)
  }
}

/** The codes a person meets here, in words: a code alone says little to whoever is not a programmer. */
const WHAT_CODES_MEAN: Record<string, string> = {
  EROFS: 'a read-only file system',
  EACCES: 'permission denied',
  EPERM: 'not permitted',
  ENOTDIR: 'a file is in the way',
  ENOSPC: 'no space left',
}

function inWords(code: string | undefined): string {
  if (!code) return ''
  const meaning = WHAT_CODES_MEAN[code]
  return meaning ? ` (${code}: ${meaning})` : ` (${code})`
}

/** The data folder cannot be made or written (not a folder, read-only, another user's). */
export class DataDirUnusableError extends Error {
  constructor(dir: string, code: string | undefined, cause: unknown) {
    super(
      `cannot use the data folder ${dir}${inWords(code)}: set DATA_DIR to a folder this user can create and write`,
      { cause },
    )
    this.name = 'DataDirUnusableError'
  }
}

function tighten(path: string, mode: number, logger: Logger): void {
  const was = statSync(path).mode & 0o777
  if ((was & ~mode) === 0) return
  chmodSync(path, mode)
  logger.warn(
    { path, was: `0${was.toString(8)}`, now: `0${mode.toString(8)}` },
    'data: others could read this; it is now the owner’s alone',
  )
}
