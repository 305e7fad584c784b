import { parseConfig } from '../../src/config/env.ts'
import { startDynamoDbService } from '../../src/entry/aws/dynamodb-service.ts'
import { startEmbedded } from '../../src/entry/embedded.ts'
import type { RunningService } from '../../src/entry/service.ts'
import { createLogger } from '../../src/log/logger.ts'
import { type LocalTables, localTables } from '../../src/testing/dynamodb.ts'
import { signIn } from '../../src/testing/sign-in.ts'
import { tempDir } from '../../src/testing/temp-dir.ts'

/**
 * The hosts of the pipeline a hand-worked scenario runs on: the embedded server's worker
 * threads, the in-process host with no threads, and the AWS shape on DynamoDB Local (its
 * collector accepting into the Events table, the roll-up handler fed from the table's stream).
 */
export const PIPELINES = ['threads', 'in-process', 'dynamodb'] as const
export type Pipeline = (typeof PIPELINES)[number]

/** The scenarios' visitors, each its own browser (Chrome/Windows, Firefox/Linux, iPhone, Mac). */
const USER_AGENTS = {
  v1: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  v2: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  v3: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  v4: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
}
export type Visitor = keyof typeof USER_AGENTS

export interface ScenarioService {
  server: RunningService
  site: { id: string; api_key: string }
  /** Signs in again (a token lasts 12 hours of the scenario's clock). */
  signIn(): Promise<string>
  /** Posts events as one visitor (its user agent, and its country as CloudFront says it). */
  send(visitor: Visitor, country: string, events: Array<Record<string, unknown>>): Promise<Response>
  close(): Promise<void>
}

/**
 * A service on one pipeline with one site, behind CloudFront as far as the app can tell
 * (`TRUST_PROXY=1`, so the viewer-country header is believed), stats uncached, on `clock`.
 */
export async function startScenarioService(
  pipeline: Pipeline,
  options: { password: string; clock: () => number; site: Record<string, string> },
): Promise<ScenarioService> {
  const dir = tempDir()
  const config = parseConfig({
    PORT: '0',
    DATA_DIR: dir.path,
    ADMIN_PASSWORD: options.password,
    STATS_CACHE_SECONDS: '0',
    SQLITE_SYNCHRONOUS: 'NORMAL',
    TRUST_PROXY: '1',
  })
  const logger = createLogger('silent')
  let tables: LocalTables | undefined
  let server: RunningService
  if (pipeline === 'dynamodb') {
    tables = await localTables()
    server = await startDynamoDbService(config, logger, tables.clients, tables.tables, {
      now: options.clock,
    })
  } else {
    server = await startEmbedded(config, logger, { now: options.clock, pipeline })
  }
  const token = await signIn(server.url, options.password)
  const created = await fetch(`${server.url}/api/sites`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(options.site),
  })
  const site = ((await created.json()) as { data: { site: { id: string; api_key: string } } }).data
    .site
  return {
    server,
    site,
    signIn: () => signIn(server.url, options.password),
    async send(visitor, country, events) {
      const res = await fetch(`${server.url}/api/events`, {
        method: 'POST',
        headers: {
          'x-api-key': site.api_key,
          'user-agent': USER_AGENTS[visitor],
          'cloudfront-viewer-country': country,
        },
        body: JSON.stringify({ events }),
      })
      await server.settle()
      return res
    },
    async close() {
      await server.close()
      await tables?.drop()
      dir.remove()
    },
  }
}
