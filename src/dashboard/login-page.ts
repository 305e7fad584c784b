import { html, type SafeHtml } from './html.ts'
import { BUTTON, PANEL, page } from './layout.ts'

/** The sign-in form; it posts to /login, which sets the dashboard cookie. */
export function renderLoginPage(error?: string): SafeHtml {
  const body = html`<main class="mx-auto flex min-h-screen max-w-sm flex-col justify-center p-4">
<h1 class="mb-6 text-center text-2xl font-bold">LiveInsight</h1>
<form method="post" action="/login" class="${PANEL} space-y-4">
<h2 class="text-lg font-semibold">Sign in</h2>
${error ? html`<p role="alert" class="rounded-lg bg-red-50 p-3 text-sm text-red-800 dark:bg-red-950 dark:text-red-200">${error}</p>` : ''}
<div class="space-y-1">
<label for="password" class="block text-sm font-medium">Dashboard password</label>
<input id="password" name="password" type="password" required autocomplete="current-password" autofocus
 class="w-full rounded-lg border border-slate-300 bg-white px-3 py-2 dark:border-slate-700 dark:bg-slate-800">
</div>
<button type="submit" class="${BUTTON} w-full">Sign in</button>
</form>
</main>`
  return page({ title: 'Sign in · LiveInsight', body, scripts: [] })
}
