import type { HttpBindings } from '@hono/node-server'
import type { Context } from 'hono'

/**
 * The path of the request line as Node received it (`IncomingMessage.url`), before
 * @hono/node-server parses it with the WHATWG URL parser, which resolves `.` and `..`
 * segments: the app refuses a path that needed that (canonical-path.ts). An absolute-form
 * target (`GET http://host/path`, RFC 9112 §3.2.2) gives its path; `*` gives itself.
 */
export function nodeRequestPath(c: Context): string | undefined {
  const target = (c.env as Partial<HttpBindings> | undefined)?.incoming?.url
  if (target === undefined) return undefined
  const query = target.search(/[?#]/)
  const beforeQuery = query === -1 ? target : target.slice(0, query)
  const absolute = /^https?:\/\/[^/]*/i.exec(beforeQuery)
  if (!absolute) return beforeQuery
  return beforeQuery.slice(absolute[0].length) || '/'
}
