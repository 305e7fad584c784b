import type { IncomingMessage } from 'node:http'
import type { Context } from 'hono'
import { HttpError } from './envelope.ts'

/**
 * The cap for the small bodies besides events: the sign-in password and form, a new site.
 * Every body the service reads has a cap: without one a client can make the server buffer
 * whatever it sends, and a sign-in body is read by anyone, before any credential.
 */
export const SMALL_BODY_BYTES = 4 * 1024

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `body larger than ${maxBytes} bytes`)
}

/** The Node request behind a Hono context, when the app runs under @hono/node-server. */
function nodeIncoming(c: Context): IncomingMessage | undefined {
  const env = c.env as { incoming?: IncomingMessage } | undefined
  return env?.incoming && typeof env.incoming.on === 'function' ? env.incoming : undefined
}

/**
 * Reads a Node request body, refusing it once it passes `maxBytes` without buffering more.
 * The listeners come off once it is read: they hold this promise, which holds the text, and
 * the request they sit on lives until it is answered (after the commit, under load tens of
 * milliseconds), long enough for each body to be copied by young-generation collections and
 * then promoted.
 */
function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size > maxBytes) {
        // Stop buffering; the rest of the body is drained and dropped so the answer can go out.
        detach()
        incoming.resume()
        reject(tooLarge(maxBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = () => {
      detach()
      resolve(Buffer.concat(chunks, size).toString('utf8'))
    }
    const onError = (error: Error) => {
      detach()
      reject(new HttpError(400, `body could not be read: ${error.message}`))
    }
    const detach = () => {
      incoming.off('data', onData)
      incoming.off('end', onEnd)
      incoming.off('error', onError)
    }
    incoming.on('data', onData)
    incoming.once('end', onEnd)
    incoming.once('error', onError)
  })
}

/**
 * The request body as UTF-8 text, at most `maxBytes` (413 beyond). A declared Content-Length
 * over the limit is refused before reading. Under Node it reads the socket stream directly:
 * a WHATWG Request and its body stream per beacon would cost more than the rest of a small
 * request's handling (bench/NOTES.md). Other runtimes (Lambda, `app.request` in tests) use
 * the Request body.
 */
export async function readBodyText(c: Context, maxBytes: number): Promise<string> {
  const declared = Number(c.req.header('content-length'))
  if (declared > maxBytes) throw tooLarge(maxBytes)
  const incoming = nodeIncoming(c)
  if (incoming && !incoming.readableEnded) return readIncoming(incoming, maxBytes)
  const bytes = new Uint8Array(await c.req.raw.arrayBuffer())
  if (bytes.byteLength > maxBytes) throw tooLarge(maxBytes)
  return new TextDecoder().decode(bytes)
}
