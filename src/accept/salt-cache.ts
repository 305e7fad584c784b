import type { Intake } from '../storage/store.ts'

/** Keeps the few live daily salts in memory; the store creates and forgets them. */
export class SaltCache {
  private readonly salts = new Map<string, Promise<string>>()
  /** The same salts once read, for callers that must not wait (the collector's hot path). */
  private readonly resolved = new Map<string, string>()

  constructor(private readonly store: Pick<Intake, 'dailySalt'>) {}

  /** The day's salt if it has been read already. */
  known(day: string): string | undefined {
    return this.resolved.get(day)
  }

  saltFor(day: string): Promise<string> {
    let salt = this.salts.get(day)
    if (!salt) {
      salt = this.store.dailySalt(day)
      // A failed read must not be remembered; a later request tries again.
      salt.then(
        (value) => {
          if (this.salts.has(day)) this.resolved.set(day, value)
        },
        () => this.salts.delete(day),
      )
      if (this.salts.size >= 4) {
        const oldest = [...this.salts.keys()].sort()[0]
        if (oldest !== undefined) {
          this.salts.delete(oldest)
          this.resolved.delete(oldest)
        }
      }
      this.salts.set(day, salt)
    }
    return salt
  }
}
