import type { Context } from 'hono'
import type { z } from 'zod'
import { HttpError } from './envelope.ts'

/** Parses a route's query string with its zod schema; problems become one 400 message. */
export function parseQuery<S extends z.ZodType>(c: Context, schema: S): z.infer<S> {
  const result = schema.safeParse(c.req.query())
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    )
    throw new HttpError(400, problems.join('; '), { problems })
  }
  return result.data
}
