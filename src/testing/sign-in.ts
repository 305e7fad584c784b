/** Signs in to a running service with the dashboard password; resolves to the Bearer token. */
export async function signIn(url: string, password: string | undefined): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ password }),
  })
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { data: { token: string } }).data.token
}
