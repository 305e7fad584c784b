import { errorMessage } from '../core/error-message.ts'
import { StorageUnavailableError } from './store.ts'

/**
 * How long a failed write keeps storage reported as failing when nothing was written since.
 * Long enough to cover the gaps between a tracker's retries and the roll-up's runs; short
 * enough that storage which has recovered while no traffic came (a freed disk on an idle
 * site) is not reported failing for good, which would keep a load balancer from ever
 * sending the traffic that would show it recovered.
 */
export const WRITE_FAILURE_HOLDS_MS = 60_000

const MESSAGE_BYTES = 240
/** failedAt (Float64, 0 while the latest write succeeded), message length (Int32), message. */
const LAYOUT = { failedAt: 0, length: 8, message: 16 } as const

/** Memory for a LatestWrite that several threads share (`new LatestWrite(buffer)` in each). */
export function latestWriteBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(LAYOUT.message + MESSAGE_BYTES)
}

/**
 * Whether the latest write that carries events (an accept, a roll-up unit) failed for a fault
 * of the storage: what a read-only health check cannot see, as a full disk still reads. Kept
 * in shared memory, since the embedded server writes on worker threads, each with a
 * connection of its own, while another thread answers `/health`. The latest write decides: a
 * write that succeeds after a failure means the storage takes writes again.
 */
export class LatestWrite {
  private readonly failedAt: Float64Array
  private readonly length: Int32Array
  private readonly message: Uint8Array

  constructor(
    buffer: SharedArrayBuffer = latestWriteBuffer(),
    private readonly now: () => number = Date.now,
  ) {
    this.failedAt = new Float64Array(buffer, LAYOUT.failedAt, 1)
    this.length = new Int32Array(buffer, LAYOUT.length, 1)
    this.message = new Uint8Array(buffer, LAYOUT.message, MESSAGE_BYTES)
  }

  /** Runs a write and notes how it ended; a failure that is not the storage's changes nothing. */
  async track<T>(write: () => Promise<T>): Promise<T> {
    let result: T
    try {
      result = await write()
    } catch (error) {
      if (error instanceof StorageUnavailableError) this.failed(error)
      throw error
    }
    this.failedAt[0] = 0
    return result
  }

  /** Throws StorageUnavailableError while the latest write failed, within WRITE_FAILURE_HOLDS_MS. */
  check(): void {
    const at = this.failedAt[0] ?? 0
    if (at === 0 || this.now() - at > WRITE_FAILURE_HOLDS_MS) return
    // Another thread may be writing a newer message meanwhile: at worst a garbled reason.
    const text = new TextDecoder().decode(this.message.slice(0, this.length[0] ?? 0))
    throw new StorageUnavailableError(
      `the latest write failed, ${new Date(at).toISOString()}: ${text}`,
    )
  }

  private failed(error: Error): void {
    const { written } = new TextEncoder().encodeInto(errorMessage(error), this.message)
    this.length[0] = written
    this.failedAt[0] = this.now()
  }
}
