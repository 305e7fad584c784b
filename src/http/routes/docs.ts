import { Hono } from 'hono'
import { html, SafeHtml } from '../../dashboard/html.ts'
import type { AppDeps, AppEnv } from '../app-env.ts'
import { openApiDocument } from '../openapi.ts'
import { styleHashSource } from '../security-headers.ts'

type Operation = {
  summary?: string
  description?: string
  security?: unknown[]
  parameters?: Array<{
    name: string
    in: string
    required?: boolean
    description?: string
    schema?: unknown
  }>
  requestBody?: { content: Record<string, { schema: unknown }> }
  responses: Record<string, { description: string }>
}

function renderOperation(path: string, method: string, op: Operation): SafeHtml {
  const body = op.requestBody ? Object.values(op.requestBody.content)[0]?.schema : undefined
  return html`<section class="op" id="${`${method}-${path}`}">
<h2><span class="method">${method.toUpperCase()}</span> <code>${path}</code></h2>
<p>${op.summary ?? ''}${op.security ? ' (requires credentials)' : ''}</p>
${op.description ? html`<p>${op.description}</p>` : ''}
${
  op.parameters?.length
    ? html`<table><thead><tr><th>parameter</th><th>in</th><th>required</th><th>meaning</th><th>schema</th></tr></thead><tbody>
${op.parameters.map(
  (p) =>
    html`<tr><td><code>${p.name}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td>${p.description ?? ''}</td><td><code>${JSON.stringify(p.schema)}</code></td></tr>`,
)}</tbody></table>`
    : ''
}
${body ? html`<details><summary>request body schema</summary><pre>${JSON.stringify(body, null, 2)}</pre></details>` : ''}
<p>responses: ${Object.entries(op.responses).map(([code, r]) => html`<code title="${r.description}">${code}</code> `)}</p>
</section>`
}

/** The page's only styling, inline so /docs needs no asset build; the CSP allows it by hash. */
const DOCS_STYLE = new SafeHtml(`
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2937;background:#fff}
@media (prefers-color-scheme:dark){body{color:#e5e7eb;background:#111827}code,pre{background:#1f2937}}
code,pre{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px;overflow-x:auto}
.method{font-weight:700;color:#2563eb}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d1d5db;padding:.3rem;text-align:left;vertical-align:top}
`)

/** No script at all, no images, no forms: a page of text and links. */
const DOCS_CSP = [
  "default-src 'none'",
  `style-src ${styleHashSource(DOCS_STYLE.html)}`,
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ')

/** `/openapi.json` and a readable `/docs` page rendered here: no CDN, no client script. */
export function docsRoutes(deps: AppDeps) {
  const app = new Hono<AppEnv>()
  const document = openApiDocument(deps.version)

  app.get('/openapi.json', (c) => c.json(document))
  app.get('/docs', (c) => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods as Record<string, Operation>).map(([method, op]) =>
        renderOperation(path, method, op),
      ),
    )
    const page = html`<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LiveInsight API</title>
<style>${DOCS_STYLE}</style></head><body>
<h1>LiveInsight API <small>${deps.version}</small></h1>
<p>${document.info.description} Machine-readable: <a href="/openapi.json">/openapi.json</a>.</p>
${operations}
</body></html>`
    c.header('Content-Security-Policy', DOCS_CSP)
    return c.html(page.html)
  })
  return app
}
