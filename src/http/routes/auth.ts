import { Hono } from 'hono'
import { z } from 'zod'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { clientIp } from '../client-ip.ts'
import { failure, success } from '../envelope.ts'
import { clearSessionCookie, setSessionCookie } from '../session-cookie.ts'

export const LoginRequestSchema = z.object({ password: z.string().min(1).max(256) })

export function authRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()

  app.post('/login', async (c) => {
    let body: unknown
    try {
      body = await c.req.json()
    } catch {
      return failure(c, 400, 'body must be JSON: {"password":"…"}')
    }
    const parsed = LoginRequestSchema.safeParse(body)
    if (!parsed.success) return failure(c, 400, 'password is required')
    const result = await deps.auth.login(parsed.data.password, clientIp(c, deps))
    if (!result.ok) {
      if (result.reason === 'rate_limited') {
        c.header('Retry-After', String(result.retryAfterS))
        return failure(c, 429, 'too many failed sign-ins; try again later')
      }
      return failure(c, 401, 'wrong password')
    }
    setSessionCookie(c, result.token)
    return success(c, { token: result.token, expires_at: new Date(result.expiresAt).toISOString() })
  })

  app.post('/logout', (c) => {
    clearSessionCookie(c)
    return success(c, { signed_out: true })
  })
  return app
}
