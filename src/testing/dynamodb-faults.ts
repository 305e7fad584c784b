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
