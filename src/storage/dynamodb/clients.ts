import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams'
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb'

export interface DynamoClients {
  ddb: DynamoDBClient
  doc: DynamoDBDocumentClient
  streams: DynamoDBStreamsClient
}

export interface ClientOptions {
  /** AWS_DEFAULT_REGION; ap-northeast-2 by default, as the plan says. */
  region?: string
  /** DYNAMODB_ENDPOINT: a DynamoDB Local, for tests and `npm run dev:aws`. */
  endpoint?: string
  /** Attempts per call, the SDK's own retries with backoff and jitter included (default 3). */
  maxAttempts?: number
}

/**
 * The SDK clients, made once per process (a Lambda container keeps them between
 * invocations). Against a local endpoint any credentials do; on AWS the SDK finds the role's.
 */
export function dynamoClients(options: ClientOptions = {}): DynamoClients {
  const config = {
    region: options.region ?? 'ap-northeast-2',
    maxAttempts: options.maxAttempts ?? 3,
    ...(options.endpoint
      ? {
          endpoint: options.endpoint,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }
      : {}),
  }
  const ddb = new DynamoDBClient(config)
  return {
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    streams: new DynamoDBStreamsClient(config),
  }
}
