import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../src/config/env.ts'
import { startDynamoDbService } from '../src/entry/aws/dynamodb-service.ts'
import { createLogger } from '../src/log/logger.ts'
import { type LocalTables, localTables } from '../src/testing/dynamodb.ts'

// `npm run dev:aws` (the AWS shape in one process) keeps the sign-in lockout where Lambda does,
// in the State table: a restart, or another process on the same tables, still refuses.

const PASSWORD = 'dev-aws-sign-in-password'
let local: LocalTables

beforeAll(async () => {
  local = await localTables()
})
afterAll(async () => {
  await local.drop()
})

const start = () =>
  startDynamoDbService(
    parseConfig({
      PORT: '0',
      ADMIN_PASSWORD: PASSWORD,
      API_KEY: 'dev-aws-sign-in-ingest-key',
      TRUST_PROXY: '1',
      LOG_LEVEL: 'silent',
    }),
    createLogger('silent'),
    local.clients,
    local.tables,
  )

function login(url: string, password: string, ip: string) {
  return fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
    body: JSON.stringify({ password }),
  })
}

describe('the dev:aws service', () => {
  it('keeps a lockout across a restart, in the State table', async () => {
    const first = await start()
    try {
      const statuses = await Promise.all(
        Array.from(
          { length: 20 },
          async (_, i) => (await login(first.url, `guess-${i}`, '192.0.2.40')).status,
        ),
      )
      expect(statuses.filter((s) => s === 401)).toHaveLength(5)
      expect(statuses.filter((s) => s === 429)).toHaveLength(15)
    } finally {
      await first.close()
    }
    const second = await start()
    try {
      const refused = await login(second.url, PASSWORD, '192.0.2.40')
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect((await login(second.url, PASSWORD, '192.0.2.41')).status).toBe(200)
    } finally {
      await second.close()
    }
  })
})
