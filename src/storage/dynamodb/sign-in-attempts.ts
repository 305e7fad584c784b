import { randomBytes } from 'node:crypto'
import { DeleteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb'
import type { AttemptRecord, PutResult, SignInAttempts } from '../../auth/sign-in-attempts.ts'
import { type Backoff, call } from './faults.ts'
import { STATE } from './keys.ts'
import { isConditionFailure, Requests } from './requests.ts'

export interface DynamoDbSignInAttemptsOptions {
  doc: DynamoDBDocumentClient
  /** The State table (STATE_TABLE). */
  table: string
  /** Minutes a per-minute failure count is kept (60): at least the rules' global window. */
  keepMinutes?: number
  backoff?: Backoff
}

/** DynamoDB's TTL takes epoch seconds; rounded up, so TTL never deletes a record early. */
const ttlSeconds = (ms: number) => Math.ceil(ms / 1000)

/**
 * The sign-in lockout's state in the State table, shared by every process that uses the
 * table: on Lambda each container sees only some of the attempts, and a lockout kept in one
 * container's memory let a burst spread over two of them get twice the guesses, and was
 * forgotten by every new container. Items as sign-in-attempts.ts describes them.
 *
 * A record's version (`v`) is random rather than a counter: a record deleted (a success)
 * and written again would otherwise start again at the version a slow reader saw before the
 * delete, and that reader's write would land on a record it never read.
 *
 * No table bound, so `put` never answers `fullUntil`: every item carries a TTL, which
 * deletes it at no cost, and DynamoDB has no size that a flood of addresses could fill.
 */
export class DynamoDbSignInAttempts implements SignInAttempts {
  private readonly requests: Requests
  private readonly doc: DynamoDBDocumentClient
  private readonly table: string
  private readonly keepMinutes: number
  /** The version each record `get` answered was read at: what its `put` is conditioned on. */
  private readonly versions = new WeakMap<AttemptRecord, string>()

  constructor(options: DynamoDbSignInAttemptsOptions) {
    this.doc = options.doc
    this.table = options.table
    this.requests = new Requests(options.doc, options.backoff)
    this.keepMinutes = options.keepMinutes ?? 60
  }

  async get(key: string, now: number): Promise<AttemptRecord | undefined> {
    const item = await this.requests.getItem(this.table, { pk: STATE.signIn(key), sk: STATE.one })
    // TTL deletes expired items within days, not at once, and reads still return them
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html): a record
    // is forgotten at its own time, to the millisecond, whatever TTL has done yet.
    if (!item || Number(item.expires_ms) <= now) return undefined
    const record: AttemptRecord = {
      failures: Number(item.failures),
      lockedUntil: Number(item.locked_until),
      expiresAt: Number(item.expires_ms),
    }
    this.versions.set(record, String(item.v))
    return record
  }

  async put(
    key: string,
    seen: AttemptRecord | undefined,
    next: AttemptRecord,
    now: number,
  ): Promise<PutResult> {
    let condition: { ConditionExpression: string; ExpressionAttributeValues: object }
    if (seen) {
      const version = this.versions.get(seen)
      // Not a record this store read: nothing to compare with, so it is read again.
      if (version === undefined) return { ok: false, changed: true }
      condition = {
        ConditionExpression: 'v = :seen AND expires_ms > :now',
        ExpressionAttributeValues: { ':seen': version, ':now': now },
      }
    } else {
      // None, or one forgotten that TTL has not deleted yet.
      condition = {
        ConditionExpression: 'attribute_not_exists(pk) OR expires_ms <= :now',
        ExpressionAttributeValues: { ':now': now },
      }
    }
    try {
      // The condition is checked and the item written as one step, so of two attempts that
      // read the same version only one writes; the other gets ConditionalCheckFailedException
      // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate).
      await this.requests.put(`PutItem(${this.table}, sign-in)`, {
        TableName: this.table,
        Item: {
          pk: STATE.signIn(key),
          sk: STATE.one,
          failures: next.failures,
          locked_until: next.lockedUntil,
          expires_ms: next.expiresAt,
          expires_at: ttlSeconds(next.expiresAt),
          v: randomBytes(9).toString('base64url'),
        },
        ...condition,
      })
      return { ok: true }
    } catch (error) {
      if (isConditionFailure(error)) return { ok: false, changed: true }
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    await call(`DeleteItem(${this.table}, sign-in)`, () =>
      this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: { pk: STATE.signIn(key), sk: STATE.one } }),
      ),
    )
  }

  async addFailures(minute: number, delta: number): Promise<void> {
    // ADD on a number is applied by DynamoDB to whatever the item holds, creating it at 0
    // when absent, so concurrent attempts from many containers all count
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html#Expressions.UpdateExpressions.ADD).
    // A give-back is conditioned on there being one to give back, as in memory: a minute
    // never goes below zero.
    const expiresAt = (minute + 1 + this.keepMinutes) * 60
    try {
      await call(`UpdateItem(${this.table}, sign-in minute)`, () =>
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: STATE.signInMinutesPk, sk: STATE.signInMinute(minute) },
            UpdateExpression: 'ADD failures :delta SET expires_at = :expires',
            ...(delta < 0 ? { ConditionExpression: 'failures >= :least' } : {}),
            ExpressionAttributeValues: {
              ':delta': delta,
              ':expires': expiresAt,
              ...(delta < 0 ? { ':least': -delta } : {}),
            },
          }),
        ),
      )
    } catch (error) {
      if (!isConditionFailure(error)) throw error
    }
  }

  async failuresIn(from: number, to: number): Promise<number> {
    // One partition, a minute per sort key: one strongly consistent Query reads the window,
    // billed by the bytes it returns (a few hundred: one read unit), where a BatchGetItem of
    // a window's 15 keys bills every key as a whole unit
    // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html).
    const items = await this.requests.queryAll({
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': STATE.signInMinutesPk,
        ':from': STATE.signInMinute(from),
        ':to': STATE.signInMinute(to),
      },
      ProjectionExpression: 'failures',
      ConsistentRead: true,
    })
    return items.reduce((sum, item) => sum + Number(item.failures ?? 0), 0)
  }
}
