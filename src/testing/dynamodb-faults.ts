import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb'
import { mockClient } from 'aws-sdk-client-mock'
import type { LocalTables } from './dynamodb.ts'

/** Every document-client command the DynamoDB store sends. */
export const DOCUMENT_COMMANDS = [
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
] as const

/**
 * A document client whose every command goes to the test's DynamoDB Local until a test
 * overrides one with aws-sdk-client-mock: faults DynamoDB Local cannot produce (throttling,
 * cancelled transactions, batch leftovers, answers lost after a write landed) are injected
 * there, and what is tested is this code's handling of them, not a mock of the database.
 */
export function forwardingDocClient(local: LocalTables) {
  const doc = DynamoDBDocumentClient.from(local.clients.ddb)
  const mock = mockClient(doc)
  for (const Command of DOCUMENT_COMMANDS) {
    mock
      .on(Command as never)
      .callsFake((input: any) => local.clients.doc.send(new Command(input) as never))
  }
  return { doc, mock }
}

/** Commands that write: what a test fails to stand for storage that takes no writes. */
export const WRITE_COMMANDS = [
  BatchWriteCommand,
  DeleteCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
] as const

/** DynamoDB's answer when a table's throughput is spent, as the SDK raises it. */
export function throttled(): Error {
  const error = new Error('Rate of requests exceeds the allowed throughput')
  error.name = 'ProvisionedThroughputExceededException'
  Object.assign(error, { $fault: 'client', $metadata: {} })
  return error
}

/**
 * Every write of a forwarding client (forwardingDocClient) refused as throttled until
 * `stop`, which sends them to DynamoDB Local again; reads go on as before.
 */
export function throttledWrites(
  local: LocalTables,
  mock: ReturnType<typeof forwardingDocClient>['mock'],
) {
  return {
    start: async () => {
      for (const Command of WRITE_COMMANDS) mock.on(Command as never).rejects(throttled())
    },
    stop: async () => {
      for (const Command of WRITE_COMMANDS) {
        mock
          .on(Command as never)
          .callsFake((input: any) => local.clients.doc.send(new Command(input) as never))
      }
    },
  }
}
