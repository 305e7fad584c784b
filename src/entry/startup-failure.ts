import { GeoDatabaseError } from '../geo/geo-database-error.ts'
import { JavaMissingError } from '../storage/dynamodb/dynamodb-local.ts'
import { DynamoDbUnreachableError } from '../storage/dynamodb/reach.ts'
import { UnusableDatabaseError } from '../storage/sqlite/unusable-database.ts'
import { DataDirBusyError } from './data-lock.ts'
import { DataDirUnusableError } from './owner-only.ts'
import { ListenError } from './service.ts'

/**
 * The exit code of a start-up failure the operator can put right, as README "Operations"
 * lists them; undefined for anything else, a fault of ours. A script or a service manager
 * tells the causes apart by the code, a person by the line printed with it.
 */
export function exitCodeOf(error: unknown): number | undefined {
  if (
    error instanceof DataDirBusyError ||
    error instanceof DataDirUnusableError ||
    error instanceof GeoDatabaseError
  ) {
    return 1
  }
  if (error instanceof ListenError) return 2
  if (error instanceof UnusableDatabaseError) return 3
  if (error instanceof DynamoDbUnreachableError || error instanceof JavaMissingError) return 4
  return undefined
}

/**
 * For an entry's start-up: what the operator can put right is said in one line on stderr,
 * after `prefix` (the command), and the process exits with its code; anything else is
 * thrown on, and Node prints its stack.
 */
export function exitOnStartupFailure(prefix: string): (error: unknown) => never {
  return (error) => {
    const exitCode = exitCodeOf(error)
    if (exitCode === undefined) throw error
    process.stderr.write(`${prefix}: ${(error as Error).message}\n`)
    process.exit(exitCode)
  }
}
