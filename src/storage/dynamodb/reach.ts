import { type DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb'

/** Node's codes for a connection that could not be made, or was cut before an answer. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
])

/** Nothing answers where DynamoDB was looked for. */
export class DynamoDbUnreachableError extends Error {
  constructor(
    where: { endpoint: string | undefined; region: string },
    code: string,
    cause: unknown,
  ) {
    super(
      where.endpoint
        ? `cannot reach DynamoDB at ${where.endpoint} (${code}): start DynamoDB Local there, or set DYNAMODB_ENDPOINT to where it listens`
        : `cannot reach AWS's DynamoDB in ${where.region} (${code}): check the network and AWS_DEFAULT_REGION, or set DYNAMODB_ENDPOINT to a DynamoDB Local`,
      { cause },
    )
    this.name = 'DynamoDbUnreachableError'
  }
}

/**
 * One cheap call before a command's real work, so that a DynamoDB that is not there is said
 * in a line naming where it was looked for and the setting, instead of a socket error's
 * stack from whichever call came first. The SDK's own retries run first, so a DynamoDB
 * Local still starting is waited for as long as any call would.
 * @throws DynamoDbUnreachableError when no connection could be made; any other error as is
 */
export async function reachDynamoDb(
  ddb: DynamoDBClient,
  /** DYNAMODB_ENDPOINT as the clients were made with it; unset means AWS's. */
  endpoint: string | undefined,
): Promise<void> {
  try {
    await ddb.send(new ListTablesCommand({ Limit: 1 }))
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && NETWORK_CODES.has(code)) {
      throw new DynamoDbUnreachableError(
        { endpoint, region: await ddb.config.region() },
        code,
        error,
      )
    }
    throw error
  }
}
