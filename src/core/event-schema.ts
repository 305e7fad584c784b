import { z } from 'zod'
import {
  isHttpUrl,
  MAX_DISTINCT_PROP_VALUES,
  MAX_PROP_KEY,
  MAX_PROPS,
  MAX_SCREEN_WIDTH,
  MAX_TEXT,
  MAX_URL,
} from './event-limits.ts'

const httpUrl = z
  .string()
  .max(MAX_URL)
  .refine(isHttpUrl, { error: 'must be an absolute http(s) URL' })

const propValue = z.union([z.string().max(MAX_TEXT), z.number(), z.boolean(), z.null()])

const props = z
  .record(z.string().min(1).max(MAX_PROP_KEY), propValue)
  .refine((value) => Object.keys(value).length <= MAX_PROPS, {
    error: `must have at most ${MAX_PROPS} properties`,
  })

/**
 * One item of `{"events":[…]}` (docs/design.md, An event). `type` and `url` are accepted as
 * aliases of `event_type` and `page_url` (the original plan's minimal snippet).
 */
export const EventInputSchema = z
  .object({
    session_id: z.string().min(1).max(128).optional(),
    timestamp: z.number().int().positive().optional(),
    event_type: z.string().min(1).max(64).optional(),
    type: z.string().min(1).max(64).optional(),
    page_url: httpUrl.optional(),
    url: httpUrl.optional(),
    referrer: z.string().max(MAX_URL).optional(),
    user_agent: z.string().max(MAX_TEXT).optional(),
    user_id: z.string().min(1).max(128).optional(),
    title: z.string().max(MAX_TEXT).optional(),
    props: props.optional().meta({
      description: `Custom properties: a flat object of at most ${MAX_PROPS} keys of 1–${MAX_PROP_KEY} characters, each a string of at most ${MAX_TEXT} characters, a number, a boolean or null; an event over these limits is refused, with its reason. Kept for good in the record with the event. Per key, site and site-local day the record keeps the first ${MAX_DISTINCT_PROP_VALUES} distinct values as sent and records every later new value as "(other)", so a key holding ids or timestamps cannot grow without bound; null is no value. On AWS that count is kept per roll-up process, so the cap is approximate there.`,
    }),
    event_id: z.string().min(1).max(128).optional(),
    engagement_ms: z
      .number()
      .int()
      .min(0)
      .max(24 * 3_600_000)
      .optional(),
    screen_width: z.number().int().min(0).max(MAX_SCREEN_WIDTH).optional().meta({
      description:
        "The viewport's width in CSS pixels (the tracker sends innerWidth). A session's screen class is its first event's: mobile under 576, tablet under 992, laptop under 1440, desktop from 1440; none without a width",
    }),
  })
  .refine((e) => e.event_type !== undefined || e.type !== undefined, {
    error: 'event_type is required',
    path: ['event_type'],
  })
  .refine((e) => e.page_url !== undefined || e.url !== undefined, {
    error: 'page_url is required',
    path: ['page_url'],
  })

/** An event as the schema accepts it, aliases and seconds not yet resolved. */
export type EventFields = z.output<typeof EventInputSchema>
