/**
 * A geo database file that could not be opened (GEO_CITY_DATABASE missing, unreadable, not an
 * MMDB file): a start-up failure the operator puts right, exit code 1 as any configuration
 * error. Apart from the lookup so start-up-failure.ts does not load the MMDB reader.
 */
export class GeoDatabaseError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options)
    this.name = 'GeoDatabaseError'
  }
}
