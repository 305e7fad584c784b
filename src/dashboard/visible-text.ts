/**
 * Characters that show nothing of themselves yet change what is shown: controls (C0, DEL,
 * C1: `%00` in a path decodes to one), format characters (bidirectional overrides, embeddings
 * and isolates, the marks U+200E/F and U+061C, zero-width spaces, the BOM, soft hyphens, the
 * tag characters that can spell a hidden text) and the line and paragraph separators. A
 * U+202E in a path would otherwise display the rest of it reversed, so that one page passes for
 * another. The zero-width joiners U+200C and U+200D are left alone: they only join the
 * visible characters either side of them (emoji sequences, Persian and Indic spelling) and
 * hide or reorder nothing.
 */
const INVISIBLE = /(?![\u200C\u200D])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu

function escapeOf(ch: string): string {
  const code = ch.codePointAt(0) ?? 0
  const hex = code.toString(16).toUpperCase()
  return code > 0xffff ? `\\u{${hex}}` : `\\u${hex.padStart(4, '0')}`
}

/**
 * User-sent text (paths, titles, referrers, event names, property values) as a page displays
 * it: every invisible character above written out as its escape (`\u202E`), so the page shows
 * what was sent. A display concern only: stored data and JSON answers keep the characters.
 * HTML escaping still applies afterwards (dashboard/html.ts), or textContent in the browser.
 * Plain code with no imports: the browser's bundle uses it unchanged.
 */
export function visibleText(text: string): string {
  return text.replace(INVISIBLE, escapeOf)
}
