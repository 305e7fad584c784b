import { createReadStream, existsSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { ConfigError, parseConfig } from '../config/env.ts'
import { importHistoryFile } from '../import/history-file.ts'
import { HistoryImportError } from '../import/history-import.ts'
import { rollupOptions } from '../rollup/rollup-options.ts'
import { SqliteStore } from '../storage/sqlite/sqlite-store.ts'
import { DataDirBusyError, lockDataDir } from './data-lock.ts'
import { OWNER_ONLY_UMASK } from './owner-only.ts'
import { exitOnStartupFailure } from './startup-failure.ts'

/**
 * `npm run import -- --site ID [FILE]`: loads a site's history from an NDJSON file (or stdin)
 * into the embedded database, with the server stopped. See history-file.ts for the format.
 */
const USAGE = 'usage: npm run import -- --site SITE_ID [FILE.ndjson]   (reads stdin without FILE)'
/** Rejected lines printed one by one; the rest are only counted. */
const SHOWN_REJECTIONS = 20

function fail(message: string): never {
  process.stderr.write(`liveinsight import: ${message}\n`)
  process.exit(1)
}

async function main() {
  // The database's WAL and shared-memory files, when the import creates them, are the owner's.
  process.umask(OWNER_ONLY_UMASK)
  const options = {
    site: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const
  let args: ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>
  try {
    args = parseArgs({ options, allowPositionals: true })
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`)
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\nThe file's format: README, "Importing history".\n`)
    process.exit(0)
  }
  const siteId = args.values.site
  const [file, ...extra] = args.positionals
  if (!siteId || extra.length > 0) fail(USAGE)
  if (file && !existsSync(file)) fail(`no such file: ${file}`)

  if (existsSync('.env')) process.loadEnvFile('.env')
  let config: ReturnType<typeof parseConfig>
  try {
    config = parseConfig(process.env)
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
  // Held until the process ends: an import beside a server would count visitors twice.
  try {
    lockDataDir(config.DATA_DIR, 'import')
  } catch (error) {
    if (error instanceof DataDirBusyError) fail(error.message)
    throw error
  }
  // Annotated, so the compiler knows a refused database ends the process here.
  const refused: (error: unknown) => never = exitOnStartupFailure('liveinsight import')
  let store: SqliteStore
  try {
    store = new SqliteStore({
      file: join(config.DATA_DIR, 'liveinsight.db'),
      synchronous: config.SQLITE_SYNCHRONOUS,
      // Each of the two connections may fill this: more did not make the import faster once the
      // sessions' lookup indexes were left to the end (bench/NOTES.md).
      cacheMb: 16,
      // The next hours are counted while the last ones are written.
      commitThread: true,
    })
  } catch (error) {
    // A newer release's database, or one it cannot write: said in a line, exit 3 as for the server.
    refused(error)
  }
  try {
    const site = await store.getSite(siteId)
    if (!site) {
      const known = (await store.listSites()).map((s) => s.id).join(', ')
      fail(
        known
          ? `no site "${siteId}" in ${config.DATA_DIR} (sites: ${known})`
          : `no sites in ${config.DATA_DIR} yet: start the server once (npm start) to create the default site`,
      )
    }
    const input = file ? createReadStream(file) : process.stdin
    let shown = 0
    const result = await importHistoryFile({
      store,
      site,
      lines: createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY }),
      options: {
        ...rollupOptions(config.SESSION_TIMEOUT_MINUTES * 60_000),
        eventTtlMs: config.EVENT_TTL_HOURS * 3_600_000,
        now: Date.now(),
      },
      onRejected: ({ line, message }) => {
        if (shown++ < SHOWN_REJECTIONS) process.stderr.write(`line ${line}: ${message}\n`)
      },
      // On a terminal only: a script reading stderr gets the rejected lines and nothing else.
      ...(process.stderr.isTTY
        ? {
            onProgress: ({ lines, through }: { lines: number; through: number }) =>
              process.stderr.write(
                `${lines.toLocaleString('en')} lines, through ${new Date(through).toISOString()}\n`,
              ),
          }
        : {}),
    })
    process.stdout.write(`${JSON.stringify({ site: site.id, ...result })}\n`)
  } catch (error) {
    if (!(error instanceof HistoryImportError)) throw error
    const kept =
      error.countedThrough === undefined
        ? 'nothing was imported'
        : `hours up to ${new Date(error.countedThrough).toISOString()} are imported; rerun with the lines after that hour`
    process.stderr.write(`liveinsight import: ${error.message}\n${kept}\n`)
    process.exitCode = 1
  } finally {
    await store.close()
  }
}

await main()
