import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

/**
 * The framework floor for `bench/ingest.ts`: Hono on @hono/node-server reading the body of a
 * POST, parsing it as JSON (the least any collector does with a batch) and answering
 * `{"ok":true}`, with no validation, storage or logging. Announces its port as the real server
 * does, with a JSON line `{"msg":"listening","port":N}` on stdout.
 */
const app = new Hono()
app.post('*', async (c) => {
  JSON.parse(await c.req.text())
  return c.json({ ok: true })
})

const server = serve({
  fetch: app.fetch,
  port: Number(process.env.PORT ?? 0),
  hostname: process.env.HOST ?? '127.0.0.1',
})
server.once('listening', () => {
  const { port } = server.address() as AddressInfo
  process.stdout.write(`${JSON.stringify({ msg: 'listening', port })}\n`)
})

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => server.close(() => process.exit(0)))
}
