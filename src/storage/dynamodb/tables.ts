import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb'

/**
 * The DynamoDB tables of the AWS shape: names, keys, indexes, TTL attributes and streams.
 * Terraform (infra/terraform/dynamodb.tf) declares the same tables; the tests create them
 * from here on DynamoDB Local, so this file is what the code relies on. Why each key is as it
 * is: README.md in this folder.
 */
export interface TableNames {
  events: string
  sessions: string
  state: string
}

/** The names from the environment (`EVENTS_TABLE`…, `.env.example`), with the plan's defaults. */
export function tableNamesFromEnv(env: Record<string, string | undefined>): TableNames {
  return {
    events: env.EVENTS_TABLE || 'LiveInsight-Events',
    sessions: env.SESSIONS_TABLE || 'LiveInsight-Sessions',
    state: env.STATE_TABLE || 'LiveInsight-State',
  }
}

/** Table names with a prefix, for a test's own set of tables on a shared DynamoDB Local. */
export function prefixedTableNames(prefix: string): TableNames {
  return {
    events: `${prefix}-Events`,
    sessions: `${prefix}-Sessions`,
    state: `${prefix}-State`,
  }
}

/** Index names the code queries. */
export const INDEX = {
  /** Sessions by their stored id (the timeline route). */
  sessionId: 'IdIndex',
  /** Sessions of an identified user by start time. */
  sessionsByUser: 'UserIndex',
  /** A site's sessions by start time, with their events: the record's period read. */
  sessionsBySiteStart: 'SiteStartIndex',
} as const

/** TTL attribute of each table that has one (epoch seconds, as DynamoDB's TTL wants). */
export const TTL_ATTRIBUTE = {
  events: 'ttl',
  state: 'expires_at',
} as const

const S = 'S' as const
const N = 'N' as const
const key = (pk: string, sk: string) => [
  { AttributeName: pk, KeyType: 'HASH' as const },
  { AttributeName: sk, KeyType: 'RANGE' as const },
]

export function tableDefinitions(names: TableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.events,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: S },
        { AttributeName: 'sk', AttributeType: S },
      ],
      KeySchema: key('pk', 'sk'),
      // No index: each index copy is a write per item. A site's requests are one partition
      // of the table itself, sorted by time (request-items.ts), which the live view, the
      // sweep and the timelines query; no read asks for a user's raw events (a user's
      // history is their sessions, Sessions' UserIndex).
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    },
    {
      TableName: names.sessions,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: S },
        { AttributeName: 'sk', AttributeType: S },
        { AttributeName: 'id', AttributeType: S },
        { AttributeName: 'user_key', AttributeType: S },
        { AttributeName: 'start_time', AttributeType: N },
        { AttributeName: 'site_id', AttributeType: S },
      ],
      KeySchema: key('pk', 'sk'),
      GlobalSecondaryIndexes: [
        {
          IndexName: INDEX.sessionId,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: INDEX.sessionsByUser,
          KeySchema: key('user_key', 'start_time'),
          Projection: { ProjectionType: 'ALL' },
        },
        // Keyed by attributes every session item already has: DynamoDB indexes the sessions
        // of an earlier release itself when the index is added (README.md, "The record").
        {
          IndexName: INDEX.sessionsBySiteStart,
          KeySchema: key('site_id', 'start_time'),
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    },
    // The small things, the fold's windows and counter summaries among them: keys only, no
    // index, no stream.
    {
      TableName: names.state,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: S },
        { AttributeName: 'sk', AttributeType: S },
      ],
      KeySchema: key('pk', 'sk'),
    },
  ]
}

/** Creates the tables and turns their TTLs on (dev:aws, tests; Terraform does it on AWS). */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    tableDefinitions(names).map((definition) => client.send(new CreateTableCommand(definition))),
  )
  const ttl: Array<[string, string]> = [
    [names.events, TTL_ATTRIBUTE.events],
    [names.state, TTL_ATTRIBUTE.state],
  ]
  await Promise.all(
    ttl.map(([TableName, AttributeName]) =>
      client.send(
        new UpdateTimeToLiveCommand({
          TableName,
          TimeToLiveSpecification: { Enabled: true, AttributeName },
        }),
      ),
    ),
  )
}

export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    Object.values(names).map((TableName) =>
      client.send(new DeleteTableCommand({ TableName })).catch(() => undefined),
    ),
  )
}
