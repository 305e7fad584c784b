import { createLambdaHandlers } from './aws/lambda-handlers.ts'

/**
 * The Lambda functions' module (one bundle, three handlers: `lambda.http`, `lambda.rollup`,
 * `lambda.sweep`). Built at the container's cold start and kept for its later invocations.
 */
const handlers = await createLambdaHandlers(process.env)

export const http = handlers.http
export const rollup = handlers.rollup
export const sweep = handlers.sweep
