import type { TestProject } from 'vitest/node'
import { startDynamoDbLocal } from '../../src/storage/dynamodb/dynamodb-local.ts'

declare module 'vitest' {
  export interface ProvidedContext {
    /** The endpoint of the test run's one DynamoDB Local. */
    dynamodbEndpoint: string
  }
}

/**
 * One DynamoDB Local for the whole test run (it takes a second or two and 100-400 MB to
 * start): every test that needs DynamoDB makes its own tables on it. Killed by its PID at the
 * end of the run, and when the run's process exits any other way.
 */
export default async function setup(project: TestProject) {
  const local = await startDynamoDbLocal()
  project.provide('dynamodbEndpoint', local.endpoint)
  return async () => {
    await local.stop()
  }
}
