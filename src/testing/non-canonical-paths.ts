/**
 * Spellings of the collector's path that reach it only after the URL parser or the router
 * rewrote them; the edge's filters match the text as sent, so the app must serve none of
 * them. Sent through the Lambda handler (entry/aws/lambda-handlers.test.ts) and to the
 * embedded server (test/canonical-paths.test.ts).
 */
export const NON_CANONICAL_COLLECTOR_PATHS = [
  '/api/%65vents',
  '/%61pi/events',
  '/api/%2e/events',
  '/api/./events',
  '/api/x/../events',
  '/api/events/.',
  '/api//events',
  '//api/events',
  '/api\\events',
]
