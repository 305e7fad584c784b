/**
 * The database file is there but this release must not use it: written by a newer or a
 * pre-release schema, or not writable. Refused at open, before anything is written, so the
 * operator can act on the message and start again with the file as it was.
 */
export class UnusableDatabaseError extends Error {
  constructor(
    readonly file: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'UnusableDatabaseError'
  }
}
