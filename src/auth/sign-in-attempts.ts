/**
 * The sign-in lockout's state, apart from its rules (sign-in-throttle.ts), so that a store
 * shared by many processes can keep it: the Lambda shape runs a process per request, and a
 * lockout in one process's memory would count nothing there.
 *
 * Keys are strings: `addr:<addressKey>` (a client address, an IPv6 /64 as one),
 * `device:<nonce>` (a device cookie), `untrusted:next` (during a spike, the time the next
 * untrusted attempt may come). Each has at most one record, and every record says when it
 * may be forgotten, so a store can expire them by itself.
 *
 * In DynamoDB (src/storage/dynamodb/sign-in-attempts.ts: the State table, single-table
 * `pk`/`sk`, TTL `expires_at`; the AWS shape's, shared by every container) a record is one
 * item:
 *   pk = "signin#<key>", sk = "-", failures (N), locked_until (N, epoch ms),
 *   expires_ms (N, epoch ms: `expiresAt` exactly), expires_at (N, epoch s, rounded up: the TTL),
 *   v (S, random, new at every write)
 * `get` is a consistent GetItem that treats an item past expires_ms as absent (TTL deletes
 * days late); `put` is a PutItem conditioned on the record read: `v = :seen AND expires_ms >
 * :now` when there was one, else `attribute_not_exists(pk) OR expires_ms <= :now`, and a
 * failed condition is the `changed` answer; `delete` is a DeleteItem. No table bound: TTL is
 * the only clean-up, so a DynamoDB store never answers `fullUntil`. The untrusted failures per
 * minute are items pk = "signin-minutes", sk = the minute (10 digits, so they sort as text),
 * updated with an atomic `ADD failures :delta` (a give-back conditioned on `failures >= 1`;
 * expires_at an hour after the minute), and `failuresIn` reads a window's minutes with one
 * consistent Query (one read unit for the window, where a BatchGetItem of 15 keys bills 15).
 */
export interface AttemptRecord {
  /** Attempts counted against the key and not given back by a success. */
  readonly failures: number
  /** No attempt on the key before this (epoch ms; 0 when it need not wait). */
  readonly lockedUntil: number
  /** From this time on the record is forgotten (epoch ms); never before `lockedUntil`. */
  readonly expiresAt: number
}

/**
 * How a conditional write went: written; refused because the record changed since it was read
 * (another attempt on the key got in first: read it again); or refused because the store
 * holds no more records until `fullUntil` (a bounded store under a flood).
 */
export type PutResult =
  | { ok: true }
  | { ok: false; changed: true }
  | { ok: false; fullUntil: number }

export interface SignInAttempts {
  /** The key's record at `now`; undefined when it has none or it is forgotten. */
  get(key: string, now: number): Promise<AttemptRecord | undefined>
  /**
   * Writes `next` for `key` only when its record is still `seen` (what `get` answered, or
   * undefined for none): two attempts racing on one key cannot both take its last free try.
   */
  put(
    key: string,
    seen: AttemptRecord | undefined,
    next: AttemptRecord,
    now: number,
  ): Promise<PutResult>
  /** Forgets the key's record. */
  delete(key: string): Promise<void>
  /** Adds `delta` (1, or -1 for a failure given back) to the untrusted failures of `minute`. */
  addFailures(minute: number, delta: number): Promise<void>
  /** The untrusted failures of the minutes `from` to `to`, both included. */
  failuresIn(from: number, to: number): Promise<number>
}
