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
  /**
   * How long one attempt may wait for a connection and for the answer (ms). The SDK waits
   * forever by default: an endpoint that accepts and never answers held a Lambda invocation
   * to its timeout and an operator's command for good.
   */
  timeouts?: { connectMs: number; answerMs: number }
}

/**
 * DynamoDB answers in milliseconds; a request still unanswered after this is lost, and is
 * sent again within the same call (maxAttempts) well inside a function's 30 s.
 */
const DEFAULT_TIMEOUTS = { connectMs: 3_000, answerMs: 8_000 }

/**
 * The SDK clients, made once per process (a Lambda container keeps them between
 * invocations). Against a local endpoint any credentials do; on AWS the SDK finds the role's.
 */
export function dynamoClients(options: ClientOptions = {}): DynamoClients {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS
  const config = {
    region: options.region ?? 'ap-northeast-2',
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: {
      connectionTimeout: timeouts.connectMs,
      requestTimeout: timeouts.answerMs,
      // Without it the SDK only logs a warning when the answer is late, and keeps waiting.
      throwOnRequestTimeout: true,
    },
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
