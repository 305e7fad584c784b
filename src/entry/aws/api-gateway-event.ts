import { isPayloadV2 } from './event-path.ts'

type Fields = Record<string, unknown>

const isObject = (value: unknown): value is Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const absent = (value: unknown) => value === undefined || value === null
const strings = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string')
const mapOf = (value: unknown, valid: (item: unknown) => boolean) =>
  absent(value) || (isObject(value) && Object.values(value).every((v) => absent(v) || valid(v)))
const isString = (value: unknown) => typeof value === 'string'

/** An HTTP method is a token (RFC 9110 §9.1); the Request constructor throws on anything else. */
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
/**
 * A header field value as the Fetch standard takes it: no NUL, CR or LF (Headers throws on
 * them, and hono/aws-lambda prints the stack before answering 400 itself).
 */
const HEADER_VALUE = /^[^\0\r\n]*$/
const headerValue = (value: unknown) => isString(value) && HEADER_VALUE.test(value as string)
/** Canonical, padded base64 as API Gateway writes a binary body; atob would throw on less. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * What the app needs of a Lambda event from API Gateway, checked before hono/aws-lambda turns
 * it into a Request. That adapter trusts the shape: a null event throws out of the handler
 * (an invocation error), one without requestContext fails in the app (a 500: the client's
 * address is read from it), a body that is not base64 gets a bare 500 without the app. The
 * shapes:
 * REST (payload 1.0) https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
 * HTTP API (1.0 and 2.0) https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
 *
 * What makes an event unfit to be a request, or undefined when it is fit.
 */
export function eventProblem(event: unknown): string | undefined {
  if (!isObject(event)) return 'the event is not an object'
  const context = event.requestContext
  if (!isObject(context)) return 'the event has no requestContext'
  let method: unknown
  let path: unknown
  if (isPayloadV2(event)) {
    method = isObject(context.http) ? context.http.method : undefined
    path = event.rawPath
    if (!absent(event.rawQueryString) && !isString(event.rawQueryString)) {
      return 'rawQueryString is not a string'
    }
    if (!absent(event.cookies) && !strings(event.cookies)) return 'cookies is not a list of strings'
  } else {
    method = event.httpMethod
    path = event.path
    if (!mapOf(event.queryStringParameters, isString)) return 'a query parameter is not a string'
    if (!mapOf(event.multiValueQueryStringParameters, strings)) {
      return 'a multi-value query parameter is not a list of strings'
    }
    if (!mapOf(event.multiValueHeaders, strings)) {
      return 'a multi-value header is not a list of strings'
    }
    if (!mapOf(event.multiValueHeaders, (values) => (values as unknown[]).every(headerValue))) {
      return 'a header value holds a line break or NUL'
    }
  }
  if (typeof method !== 'string' || !METHOD.test(method)) return 'no valid HTTP method'
  if (typeof path !== 'string' || !path.startsWith('/')) return 'no path starting with /'
  if (!mapOf(event.headers, isString)) return 'a header is not a string'
  if (!mapOf(event.headers, headerValue)) return 'a header value holds a line break or NUL'
  if (!absent(event.isBase64Encoded) && typeof event.isBase64Encoded !== 'boolean') {
    return 'isBase64Encoded is not a boolean'
  }
  if (absent(event.body)) return undefined
  if (!isString(event.body)) return 'the body is not a string'
  if (event.isBase64Encoded && !BASE64.test(event.body as string)) return 'the body is not base64'
  if ((method === 'GET' || method === 'HEAD') && event.body !== '') {
    return `a ${method} request with a body`
  }
  return undefined
}
