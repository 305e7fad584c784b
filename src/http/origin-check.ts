import { createHash, timingSafeEqual } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import { failure } from './envelope.ts'

/**
 * The header CloudFront adds, as an origin custom header, to every request it forwards to the
 * API origin, with a value only it and the functions know (infra/terraform/static.tf):
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
 */
export const ORIGIN_SECRET_HEADER = 'X-Origin-Verify'

const digest = (value: string) => createHash('sha256').update(value).digest()

/**
 * Refuses every request that does not carry one of `secrets` in X-Origin-Verify: such a
 * request reached the origin without passing the CDN, so its WAF never saw it and the
 * forwarding headers TRUST_PROXY believes (X-Forwarded-For, CloudFront-Viewer-Address,
 * CloudFront-Viewer-Country) are the caller's own words. It runs before any middleware that
 * reads those headers or the body. Two secrets are accepted while a rotation propagates
 * (README, Operations). Digests are compared in constant time, each of them, so neither the
 * length nor the first differing byte of a secret shows in the answer's timing.
 */
export function originCheck(secrets: readonly string[]): MiddlewareHandler {
  const accepted = secrets.map(digest)
  return async (c, next) => {
    const presented = digest(c.req.header(ORIGIN_SECRET_HEADER) ?? '')
    let ok = false
    for (const secret of accepted) ok = timingSafeEqual(presented, secret) || ok
    if (!ok) {
      return failure(c, 403, 'requests reach this service through its CDN only')
    }
    return next()
  }
}
