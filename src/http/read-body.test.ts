import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Context } from 'hono'
import { describe, expect, it } from 'vitest'
import { readBodyText } from './read-body.ts'

/** Posts `body` to a real Node server whose handler reads it with readBodyText. */
async function readOnServer(body: string, maxBytes: number) {
  let seen: { text?: string; status?: number; listeners: number[] } = { listeners: [] }
  const server = createServer((incoming: IncomingMessage, res) => {
    const c = { env: { incoming }, req: { header: () => undefined } } as unknown as Context
    readBodyText(c, maxBytes).then(
      (text) => {
        seen.text = text
      },
      (error: { status?: number }) => {
        seen.status = error.status
      },
    )
    incoming.once('end', () =>
      setImmediate(() => {
        const counts = ['data', 'end', 'error'].map((event) => incoming.listenerCount(event))
        seen = { ...seen, listeners: counts }
        res.end('ok')
      }),
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body })
    await response.text()
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
  return seen
}

describe('readBodyText under Node', () => {
  it('reads the body and takes its listeners off the request once read', async () => {
    // The listeners hold the text through their promise for as long as the request lives.
    const seen = await readOnServer('{"events":[]}', 1024)
    expect(seen).toEqual({ text: '{"events":[]}', listeners: [0, 0, 0] })
  })

  it('refuses a body over the limit with 413 and stops buffering it', async () => {
    const seen = await readOnServer('x'.repeat(5000), 1024)
    expect(seen).toEqual({ status: 413, listeners: [0, 0, 0] })
  })
})
