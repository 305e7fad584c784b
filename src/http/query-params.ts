import type { Context } from 'hono'
import type { z } from 'zod'
import { HttpError } from './envelope.ts'

/**
 * Parses a route's query string with its zod schema; problems become one 400 message.
 * Parameters named in `lists` are read with every repeat, as an array when repeated (the
 * stats `filter`); any other parameter keeps its first value, as it always did, so a
 * repeated `site` is not suddenly an error.
 */
export function parseQuery<S extends z.ZodType>(
  c: Context,
  schema: S,
  lists: readonly string[] = [],
): z.infer<S> {
  const input: Record<string, string | string[]> = c.req.query()
  for (const name of lists) {
    const all = c.req.queries(name)
    if (all && all.length > 1) input[name] = all
  }
  const result = schema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((issue) =>
      issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    )
    throw new HttpError(400, problems.join('; '), { problems })
  }
  return result.data
}
