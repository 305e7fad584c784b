import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import type { ScheduledEvent } from 'aws-lambda'
import { getConnInfo } from 'hono/aws-lambda'
import { parseConfig } from '../../config/env.ts'
import { createLogger } from '../../log/logger.ts'
import { rollupOptions } from '../../rollup/rollup-options.ts'
import { dynamoClients } from '../../storage/dynamodb/clients.ts'
import { DynamoDbStore } from '../../storage/dynamodb/dynamodb-store.ts'
import type { PackResult } from '../../storage/dynamodb/record-packs.ts'
import { DynamoDbSignInAttempts } from '../../storage/dynamodb/sign-in-attempts.ts'
import { tableNamesFromEnv } from '../../storage/dynamodb/tables.ts'
import type { SweepResult } from '../../storage/store.ts'
import { buildService } from '../service.ts'
import { acceptOnlyPipeline } from './dynamodb-service.ts'
import { eventRequestPath } from './event-path.ts'
import { type HttpHandler, httpHandler } from './http-handler.ts'
import { createRollupHandler, type RollupHandler } from './rollup-handler.ts'

/** What the AWS shape reads from the environment besides parseConfig's variables. */
export const AWS_VARIABLES = [
  'EVENTS_TABLE',
  'SESSIONS_TABLE',
  'STATE_TABLE',
  'ADMIN_PASSWORD_PARAMETER',
  'ORIGIN_SECRET_PARAMETER',
  'DYNAMODB_ENDPOINT',
  'AWS_DEFAULT_REGION',
  'PACKED_DAYS_MEMORY_MB',
] as const

/**
 * Set on every function by Terraform: the tables, where the password is, the two hops
 * behind CloudFront → API Gateway (a default of 0 would take CloudFront for the client),
 * where the origin secrets are (without them API Gateway's own URL answers anyone, who then
 * picks their address through those hops) and the origin browsers use.
 */
export const REQUIRED_ON_AWS = [
  'EVENTS_TABLE',
  'SESSIONS_TABLE',
  'STATE_TABLE',
  'ADMIN_PASSWORD_PARAMETER',
  'TRUST_PROXY',
  'ORIGIN_SECRET_PARAMETER',
  'PUBLIC_ORIGIN',
] as const

/**
 * A SecureString from SSM Parameter Store, decrypted by SSM, read once per container. Never
 * logged; an error names the setting and the parameter, not the value. `name:version` reads
 * that version: Terraform names the version so that a new value changes the functions'
 * configuration, and Lambda serves the next requests from new containers, which read it
 * (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-versions.html,
 * https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html).
 */
async function secureParameter(ssm: SSMClient, setting: string, name: string): Promise<string> {
  const answer = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))
  const value = answer.Parameter?.Value
  if (!value) throw new Error(`${setting} ${name} has no value`)
  return value
}

/**
 * The settings kept in SSM (the dashboard password, the origin secrets) in place of their
 * parameters' names, read together so a cold start waits for one round trip.
 */
async function withParameters(
  env: Record<string, string | undefined>,
): Promise<Record<string, string | undefined>> {
  const wanted = (
    [
      ['ADMIN_PASSWORD_PARAMETER', 'ADMIN_PASSWORD'],
      ['ORIGIN_SECRET_PARAMETER', 'ORIGIN_SECRETS'],
    ] as const
  ).filter(([parameter]) => env[parameter])
  if (wanted.length === 0) return env
  const region = env.AWS_DEFAULT_REGION
  const ssm = new SSMClient(region ? { region } : {})
  try {
    const values = await Promise.all(
      wanted.map(([parameter]) => secureParameter(ssm, parameter, env[parameter] as string)),
    )
    return { ...env, ...Object.fromEntries(wanted.map(([, setting], i) => [setting, values[i]])) }
  } finally {
    ssm.destroy()
  }
}

/**
 * PACKED_DAYS_MEMORY_MB: memory for packed days kept decoded between invocations (the
 * store's `packedDaysBytes`); unset, the store's default for a 512 MB function; 0 keeps none.
 */
function packedDaysMemory(env: Record<string, string | undefined>): { packedDaysBytes?: number } {
  const text = env.PACKED_DAYS_MEMORY_MB
  if (text === undefined || text === '') return {}
  const mb = Number(text)
  if (!Number.isInteger(mb) || mb < 0) {
    throw new Error(`PACKED_DAYS_MEMORY_MB must be a whole number of MB, not ${text}`)
  }
  return { packedDaysBytes: mb * 1024 * 1024 }
}

export interface LambdaHandlers {
  /** API Gateway (REST v1 or HTTP API v2) → the app; the same app `npm start` serves. */
  http: HttpHandler
  /** The Events stream's event source mapping → the roll-up. */
  rollup: RollupHandler
  /**
   * EventBridge schedule → what the embedded server runs on a timer, then the record's
   * packer (record-packs.ts) with what is left of the run's time.
   */
  sweep: (event?: ScheduledEvent) => Promise<SweepResult & { packed: PackResult }>
  store: DynamoDbStore
}

/**
 * The AWS shape's functions, built once per container from the environment (its
 * variables): one store and its SDK clients, one app. The collector only accepts (the stream
 * rolls up), and the live view is read from the store per request: a container sees only
 * part of the traffic, so none keeps a window of its own.
 */
export async function createLambdaHandlers(
  env: Record<string, string | undefined>,
): Promise<LambdaHandlers> {
  const config = parseConfig(await withParameters(env))
  // JSON whatever LOG_FORMAT says: the alarms' metric filters read its fields.
  const logger = createLogger(config.LOG_LEVEL)
  const clients = dynamoClients({
    ...(env.AWS_DEFAULT_REGION ? { region: env.AWS_DEFAULT_REGION } : {}),
    ...(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {}),
  })
  const eventTtlMs = config.EVENT_TTL_HOURS * 3_600_000
  const tables = tableNamesFromEnv(env)
  const sessionTimeoutMs = config.SESSION_TIMEOUT_MINUTES * 60_000
  const store = new DynamoDbStore({
    ...clients,
    tables,
    eventTtlMs,
    sessionTimeoutMs,
    ...packedDaysMemory(env),
    // No `pulled`: the event source mapping reads the stream here (NO_PULLED_STREAM).
  })
  const pipeline = acceptOnlyPipeline(store, config, logger)
  const service = await buildService(
    config,
    logger,
    {
      store,
      pipeline,
      livePush: false,
      recordReport: (query) => store.columnarRecordReport(query),
      // In the State table: a container sees only some of the attempts, and lives briefly.
      signInAttempts: new DynamoDbSignInAttempts({ doc: clients.doc, table: tables.state }),
    },
    { socketAddress: (c) => getConnInfo(c).remote.address, requestPath: eventRequestPath },
  )
  return {
    http: httpHandler(service.app, logger),
    rollup: createRollupHandler(store, rollupOptions(sessionTimeoutMs), logger, { lag: store }),
    sweep: async () => {
      const started = Date.now()
      const swept = await store.sweep({ now: started, eventTtlMs })
      // Half the function's timeout (lambda.tf) is the packer's: a day left over waits 5 minutes.
      const deadline = started + 15_000
      return { ...swept, packed: await store.packRecord(Date.now(), deadline) }
    },
    store,
  }
}
