import { z } from 'zod'
import { MAX_EVENTS } from '../accept/prepare-request.ts'
import { EventInputSchema } from '../core/event-schema.ts'
import {
  FILTER_EVENT_DIMENSIONS,
  FILTER_SESSION_DIMENSIONS,
  MAX_FILTERS,
} from '../core/stats-filters.ts'
import { StatsParamsSchema } from '../core/stats-query.ts'
import { LoginRequestSchema } from './routes/auth.ts'
import {
  DeleteUserParamsSchema,
  SessionParamsSchema,
  UserSessionsParamsSchema,
} from './routes/sessions.ts'
import { CreateSiteSchema } from './routes/sites.ts'

/**
 * The OpenAPI document, generated from the same zod schemas that validate requests, so the
 * documentation cannot drift from what the server accepts.
 */
type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> }

function jsonSchema(schema: z.ZodType): JsonSchema {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema
  delete out.$schema
  return out
}

function queryParameters(schema: z.ZodType) {
  const object = jsonSchema(schema)
  const required = new Set((object.required as string[] | undefined) ?? [])
  // A schema's description (zod `.meta`) says what the parameter means: it belongs on the
  // parameter, where readers of the document (and /docs) look for it.
  return Object.entries(object.properties ?? {}).map(([name, { description, ...property }]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(typeof description === 'string' ? { description } : {}),
    schema: property,
  }))
}

/** The filter grammar and its semantics, from the lists the parser reads (stats-filters.ts). */
const STATS_DESCRIPTION = [
  `\`filter\` narrows every figure; repeat it (at most ${MAX_FILTERS}) and all must hold. It is \`DIM:VALUE\` (is), \`DIM!:VALUE\` (is not) or \`DIM~:TEXT\` (contains, ignoring case). The dimension is the text before the first \`:\`, a trailing \`!\` or \`~\` on it the operator; an unknown dimension or operator, or an empty value, is a 400.`,
  `Session dimensions: ${FILTER_SESSION_DIMENSIONS.join(', ')} (referrer is the referrer's host; screen is mobile under 576 px wide, tablet under 992, laptop under 1440, desktop from 1440; country is the ISO code). A session dimension keeps the sessions whose value matches, and the summary, chart and every table are computed over those sessions and their events.`,
  `Event dimensions: ${FILTER_EVENT_DIMENSIONS.join(', ')} (a custom event's name) and prop.KEY (a custom property, compared as text). With \`:\` or \`~:\` they keep the sessions with at least one matching event, with \`!:\` the sessions with none; each filter is its own condition on the session, so a page filter and an event filter may be met by different events of it. pageviews counts the kept sessions' page views that meet every page condition. Property keys containing \`:\` cannot be filtered. Sessions counted before the record of events existed answer session dimensions only: data.record_partial says the period holds some, and page, event and property filters and breakdowns count from data.record_since.`,
  "`data.filters` lists what was applied as [{dim, op, value}], op one of is, is_not, contains. The comparison with the previous period applies the same filters; the live panel and /api/realtime are never filtered. `props=KEY` adds data.props[KEY]: the top `limit` values of that property over the period and filters, [{value, events, visitors}], most visitors first (events without the key are not counted); data.prop_keys lists the property keys seen in the period, most used first. Without filters every other figure is the unfiltered view's, the same as without props.",
  "A table row's visitors count once per day for each value they had, so a visitor who came from two sources on one day counts under both, as filtering by each shows (the counters, where they answer an unfiltered view, count a visitor-day under the session first seen in that day, so their tables add up to the site's visitors).",
].join('\n\n')

const SiteQuery = z.object({ site: z.string().min(1) })

const envelope = (description: string) => ({
  description,
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { status: { enum: ['success'] }, data: {} },
        required: ['status', 'data'],
      },
    },
  },
})
/** The path parameter of both user routes. */
const USER_ID_PARAMETER = {
  name: 'id',
  in: 'path',
  required: true,
  description: "The user's id, as the tracker's `identify` sent it (`user_id`)",
  schema: { type: 'string' },
}

const ERROR = {
  description: 'Error envelope: {"status":"error","message":"…","details"?}',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { status: { enum: ['error'] }, message: { type: 'string' }, details: {} },
        required: ['status', 'message'],
      },
    },
  },
}
const bearer = [{ bearer: [] }, { cookie: [] }]

/** What every write but the collector may answer besides its own results (same-origin.ts). */
const WRITE_REFUSALS = {
  '403': {
    ...ERROR,
    description:
      'Cross-site request: a write without a Bearer token must come from the dashboard itself (Sec-Fetch-Site same-origin or none, else Origin naming this host)',
  },
  '415': { ...ERROR, description: 'text/plain body: only POST /api/events takes one' },
}

export function openApiDocument(version: string) {
  const eventBatch = {
    type: 'object',
    properties: {
      events: {
        type: 'array',
        minItems: 1,
        maxItems: MAX_EVENTS,
        items: jsonSchema(EventInputSchema),
      },
    },
    required: ['events'],
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'LiveInsight',
      version,
      description:
        'Real-time web analytics. Every JSON answer uses one envelope: {"status":"success","data":…} or {"status":"error","message":…}.',
    },
    components: {
      securitySchemes: {
        ingestKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        ingestKeyQuery: { type: 'apiKey', in: 'query', name: 'api_key' },
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'li_session' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
      },
    },
    paths: {
      '/api/events': {
        post: {
          summary: 'Collect a batch of 1–100 events (body ≤ 64 KiB, JSON or text/plain)',
          security: [{ ingestKey: [] }, { ingestKeyQuery: [] }],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: eventBatch },
              'text/plain': { schema: eventBatch },
            },
          },
          responses: {
            '200': envelope('{accepted, duplicates, bots, rejected: [{index, message}]}'),
            '400': ERROR,
            '401': ERROR,
            '413': ERROR,
            '429': ERROR,
            '503': ERROR,
          },
        },
      },
      '/api/auth/login': {
        post: {
          summary:
            'Sign in to the dashboard (body ≤ 4 KiB); returns a 12 h token and sets the session cookie and a device cookie (li_device: sent back at the next sign-in, it gives this client an allowance of failed attempts of its own)',
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(LoginRequestSchema) } },
          },
          responses: {
            '200': envelope('{token, expires_at}'),
            '400': ERROR,
            '401': ERROR,
            '413': ERROR,
            '429': ERROR,
            ...WRITE_REFUSALS,
          },
        },
      },
      '/api/stats': {
        get: {
          summary: 'Period statistics: summary, Chart.js timeseries and breakdowns',
          description: STATS_DESCRIPTION,
          security: bearer,
          parameters: queryParameters(StatsParamsSchema),
          responses: {
            '200': envelope(
              "Stats report: summary, timeseries and the tables top_pages, entry_pages, exit_pages, sources, channels, utm_sources, utm_mediums, utm_campaigns, utm_terms, utm_contents, hostnames (the entry page's host), browsers, os, devices, screens (mobile, tablet, laptop, desktop by viewport width), countries and events; with rollup_lag_s: how many seconds the counters trail ingestion (0 when the roll-up has caught up), and uncounted: null, or {items, since} when the roll-up set events aside that no figure counts (since: the earliest event time among them, epoch ms); with filters or props also filters, prop_keys, props, record_since and record_partial (see the description)",
            ),
            '400': ERROR,
            '401': ERROR,
            '404': ERROR,
          },
        },
      },
      '/api/realtime': {
        get: {
          summary: 'Live snapshot (HTML fragment when HX-Request is set)',
          security: bearer,
          parameters: queryParameters(SiteQuery),
          responses: { '200': envelope('Realtime snapshot'), '401': ERROR, '404': ERROR },
        },
      },
      '/api/realtime/stream': {
        get: {
          summary: 'Server-Sent Events: the realtime snapshot pushed on change (≤ 1/s)',
          security: bearer,
          parameters: queryParameters(SiteQuery),
          responses: { '200': { description: 'text/event-stream' }, '401': ERROR },
        },
      },
      '/api/sessions/{id}': {
        get: {
          summary: 'One session and its events (while within EVENT_TTL_HOURS)',
          description:
            "Takes either id of a session. The tracker's session id, as `/api/realtime` shows it (`recent_events[].session_id`) and every session view carries it (`session_id`), with `site` (it is unique per site only) and optionally `at` (it may span several sessions). Or the stored session id, the `id` of every session view (`/api/users/{id}/sessions`), with no `site` needed.",
          security: bearer,
          parameters: [
            {
              name: 'id',
              in: 'path',
              required: true,
              description: "The tracker's session id (with `site`) or a stored session id",
              schema: { type: 'string' },
            },
            ...queryParameters(SessionParamsSchema),
          ],
          responses: {
            '200': envelope('{session: {id, session_id, site_id, start, end, …}, events}'),
            '400': ERROR,
            '401': ERROR,
            '404': ERROR,
          },
        },
      },
      '/api/users/{id}': {
        delete: {
          summary: "Delete an identified user's data (a person's request to be forgotten)",
          description:
            "Removes the site's sessions of this `user_id` (the whole session, events sent before `identify` included), their events in the record, and their raw events, on both shapes. The counters stay: sums by page, source, country and the like, with no user id, visitor id or property value in them. Answers how many of each were removed; deleting again removes nothing more. Events the roll-up has not counted yet still form a session when it does (within a second embedded, within the roll-up's batching window on AWS, where their raw events are not found before: they expire within EVENT_TTL_HOURS): after a person's last visit, delete again a minute later to be sure.",
          security: bearer,
          parameters: [USER_ID_PARAMETER, ...queryParameters(DeleteUserParamsSchema)],
          responses: {
            '200': envelope('{deleted: {sessions, events, raw_events}}'),
            '400': ERROR,
            '401': ERROR,
            '404': ERROR,
            ...WRITE_REFUSALS,
          },
        },
      },
      '/api/users/{id}/sessions': {
        get: {
          summary: "An identified user's sessions, newest first",
          description:
            "Each session view carries both ids `GET /api/sessions/{id}` takes: `id` (stored) and `session_id` (the tracker's).",
          security: bearer,
          parameters: [USER_ID_PARAMETER, ...queryParameters(UserSessionsParamsSchema)],
          responses: {
            '200': envelope('{sessions: [{id, session_id, …}], next_before}'),
            '400': ERROR,
            '401': ERROR,
          },
        },
      },
      '/api/sites': {
        get: { summary: 'All sites', security: bearer, responses: { '200': envelope('{sites}') } },
        post: {
          summary: 'Create a site (body ≤ 4 KiB); returns its id and a new ingest key',
          security: bearer,
          requestBody: {
            required: true,
            content: { 'application/json': { schema: jsonSchema(CreateSiteSchema) } },
          },
          responses: {
            '201': envelope('{site}'),
            '400': ERROR,
            '401': ERROR,
            '413': ERROR,
            ...WRITE_REFUSALS,
          },
        },
      },
      '/api/sites/{id}/rotate-key': {
        post: {
          summary: 'Replace the ingest key of a site',
          security: bearer,
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': envelope('{site}'),
            '401': ERROR,
            '404': ERROR,
            ...WRITE_REFUSALS,
          },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness and storage check, with how far the roll-up trails',
          description:
            '200 while storage reads and its latest write did not fail; 503 "storage failing" when a read fails or the latest accept or roll-up write failed for a fault of the storage (a full disk, an I/O error, throttling) within the last minute. Both carry rollup_lag_s: seconds since the oldest item still waiting for the roll-up was accepted (0 when none waits; null when it cannot be read).',
          responses: {
            '200': envelope('{status: "ok", rollup_lag_s}'),
            '503': {
              ...ERROR,
              description:
                'Error envelope: {status: "error", message: "storage failing", details: {rollup_lag_s}}',
            },
          },
        },
      },
      '/metrics': {
        get: {
          summary: 'Operational metrics in Prometheus text format',
          description:
            'Events accepted, rejected, bots, duplicates, rate-limited and shed; commit latency; roll-up backlog and lag (read at each scrape); HTTP answers by route pattern, method and status; version and storage kind (liveinsight_build_info); process metrics. Takes METRICS_TOKEN as a Bearer token, or a dashboard sign-in.',
          security: [{ metricsToken: [] }, ...bearer],
          responses: { '200': { description: 'text/plain; version=0.0.4' }, '401': ERROR },
        },
      },
      '/liveinsight.js': {
        get: {
          summary: 'The browser tracker (ETag, If-None-Match → 304, cached for an hour)',
          responses: {
            '200': { description: 'application/javascript' },
            '304': { description: 'not modified' },
            '503': ERROR,
          },
        },
      },
    },
  }
}
