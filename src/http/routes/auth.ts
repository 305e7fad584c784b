import { Hono } from 'hono'
import { z } from 'zod'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { clientIp } from '../client-ip.ts'
import { presentedDeviceCookie, setDeviceCookie } from '../device-cookie.ts'
import { failure, HttpError, success } from '../envelope.ts'
import { readBodyText, SMALL_BODY_BYTES } from '../read-body.ts'
import { presentedToken } from '../require-dashboard.ts'
import { clearSessionCookie, setSessionCookie } from '../session-cookie.ts'

export const LoginRequestSchema = z.object({ password: z.string().min(1).max(256) })

export function authRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()

  app.post('/login', async (c) => {
    // The body is read (at most 4 KiB) only once the client may try: see DashboardAuth.login.
    const from = { ip: clientIp(c, deps), deviceCookie: presentedDeviceCookie(c) }
    const result = await deps.auth.login(from, async () => {
      const text = await readBodyText(c, SMALL_BODY_BYTES)
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        throw new HttpError(400, 'body must be JSON: {"password":"…"}')
      }
      return LoginRequestSchema.safeParse(body).data?.password
    })
    if (!result.ok) {
      if (result.reason === 'no_password') return failure(c, 400, 'password is required')
      if (result.reason === 'rate_limited') {
        c.header('Retry-After', String(result.retryAfterS))
        return failure(c, 429, 'too many failed sign-ins; try again later')
      }
      return failure(c, 401, 'wrong password')
    }
    setSessionCookie(c, result.token, deps)
    setDeviceCookie(c, result.deviceCookie, deps)
    return success(c, { token: result.token, expires_at: new Date(result.expiresAt).toISOString() })
  })

  // Sign-out revokes the token it is sent with (signOut checks it is a valid one), and only
  // that one: the admin's other browsers and scripts stay signed in.
  app.post('/logout', async (c) => {
    const token = presentedToken(c)
    if (token) await deps.auth.signOut(token)
    clearSessionCookie(c, deps)
    return success(c, { signed_out: true })
  })
  return app
}
