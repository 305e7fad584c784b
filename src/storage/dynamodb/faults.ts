import pRetry, { AbortError } from 'p-retry'
import { StorageUnavailableError } from '../store.ts'

/**
 * Errors DynamoDB answers when it cannot serve now, whatever the data: throttling, capacity,
 * its own faults, the network. The SDK has retried these already (exponential backoff with
 * jitter); when they still come, the call is answered 503 with Retry-After and retried later.
 */
const UNAVAILABLE = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
])

function errorName(error: unknown): string {
  if (typeof error !== 'object' || error === null) return ''
  const e = error as { name?: unknown; code?: unknown; $retryable?: unknown }
  if (typeof e.code === 'string' && UNAVAILABLE.has(e.code)) return e.code
  return typeof e.name === 'string' ? e.name : ''
}

/**
 * Cancellation reasons of a `TransactWriteItems` that name a fault of the moment: another
 * transaction held an item, or throughput ran out. DynamoDB cancels the whole transaction
 * and the SDK does not retry it (TransactWriteItems API reference, "TransactionCanceled
 * Exception"), so it is retried as any unavailability is. A cancellation with any other
 * reason (a condition that failed) is the caller's to read.
 */
const TRANSIENT_CANCELLATIONS = new Set([
  'TransactionConflict',
  'ThrottlingError',
  'ProvisionedThroughputExceeded',
  'RequestLimitExceeded',
])

function cancelledForNow(error: unknown): boolean {
  const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons
  const codes = (reasons ?? []).map((r) => r.Code).filter((c) => c && c !== 'None')
  return codes.length > 0 && codes.every((code) => TRANSIENT_CANCELLATIONS.has(code as string))
}

export function isUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailableError) return true
  const name = errorName(error)
  if (UNAVAILABLE.has(name)) return true
  // A transaction cancelled because another transaction held an item: retry later.
  if (name === 'TransactionConflictException' || name === 'TransactionInProgressException') {
    return true
  }
  if (name === 'TransactionCanceledException' && cancelledForNow(error)) return true
  const fault = (error as { $fault?: unknown } | null)?.$fault
  return fault === 'server'
}

/** A DynamoDB error as the Store reports it: unavailable-for-now, or the error itself. */
export function storageFault(where: string, error: unknown): unknown {
  if (error instanceof StorageUnavailableError) return error
  if (isUnavailable(error)) {
    return new StorageUnavailableError(`DynamoDB ${where}: ${errorName(error) || 'unavailable'}`, {
      cause: error,
    })
  }
  return error
}

/** Runs one DynamoDB call, reporting its fault with where it came from. */
export async function call<T>(where: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw storageFault(where, error)
  }
}

export interface Backoff {
  retries: number
  minTimeout: number
  maxTimeout: number
}

/** How long leftovers (UnprocessedItems / UnprocessedKeys) are retried before giving up. */
export const DEFAULT_BACKOFF: Backoff = { retries: 8, minTimeout: 25, maxTimeout: 2000 }

/**
 * Sends a batch and sends its leftovers again until none is left: DynamoDB may process only
 * part of a BatchGetItem or BatchWriteItem (throttling, size) and says what it left. Waits
 * grow exponentially with jitter (p-retry); past the retries the call fails as unavailable,
 * so the caller answers 503 and nothing is taken as done that was not.
 */
export async function untilAllProcessed<T>(
  where: string,
  first: T,
  send: (request: T) => Promise<T | undefined>,
  backoff: Backoff = DEFAULT_BACKOFF,
): Promise<void> {
  let left: T | undefined = first
  await pRetry(
    async () => {
      if (left === undefined) return
      try {
        left = await send(left)
      } catch (error) {
        const fault = storageFault(where, error)
        // Only faults of the moment are retried here; anything else is the caller's.
        if (!(fault instanceof StorageUnavailableError)) throw new AbortError(fault as Error)
        throw fault
      }
      if (left !== undefined) {
        throw new StorageUnavailableError(`DynamoDB ${where}: items left unprocessed`)
      }
    },
    { ...backoff, randomize: true },
  ).catch((error: unknown) => {
    throw storageFault(where, error)
  })
}
