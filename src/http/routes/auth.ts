import { Hono } from 'hono'
import { deleteCookie, setCookie } from 'hono/cookie'
import { z } from 'zod'
import { TOKEN_TTL_S } from '../../auth/dashboard-auth.ts'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { clientIp } from '../client-ip.ts'
import { failure, success } from '../envelope.ts'
import { SESSION_COOKIE } from '../require-dashboard.ts'

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
    setCookie(c, SESSION_COOKIE, result.token, {
      httpOnly: true,
      sameSite: 'Strict',
      path: '/',
      maxAge: TOKEN_TTL_S,
      secure: new URL(c.req.url).protocol === 'https:',
    })
    return success(c, { token: result.token, expires_at: new Date(result.expiresAt).toISOString() })
  })

  app.post('/logout', (c) => {
    deleteCookie(c, SESSION_COOKIE, { path: '/' })
    return success(c, { signed_out: true })
  })
  return app
}
