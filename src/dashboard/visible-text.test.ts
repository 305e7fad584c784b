import { describe, expect, it } from 'vitest'
import { readablePath } from '../core/page-url.ts'
import { escapeHtml } from './html.ts'
import { visibleText } from './visible-text.ts'

describe('visibleText', () => {
  it('writes bidirectional controls out as their escapes', () => {
    expect(visibleText('/invoice\u202Efdp.exe')).toBe('/invoice\\u202Efdp.exe')
    for (const code of [0x200e, 0x200f, 0x061c, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e]) {
      const hex = code.toString(16).toUpperCase().padStart(4, '0')
      expect(visibleText(`a${String.fromCodePoint(code)}b`)).toBe(`a\\u${hex}b`)
    }
    for (const code of [0x2066, 0x2067, 0x2068, 0x2069]) {
      expect(visibleText(String.fromCodePoint(code))).toBe(`\\u${code.toString(16)}`)
    }
  })

  it('writes C0, DEL and C1 controls out, a %00 in a path included', () => {
    expect(visibleText(readablePath('/a%00b'))).toBe('/a\\u0000b')
    expect(visibleText('tab\there\nnew\rline')).toBe('tab\\u0009here\\u000Anew\\u000Dline')
    expect(visibleText('\u001B[31mred')).toBe('\\u001B[31mred')
    expect(visibleText('del\u007F c1\u0085\u009B')).toBe('del\\u007F c1\\u0085\\u009B')
  })

  it('writes other invisible format characters and line separators out', () => {
    expect(visibleText('zero\u200Bwidth\uFEFFbom\u00ADsoft\u2060joiner')).toBe(
      'zero\\u200Bwidth\\uFEFFbom\\u00ADsoft\\u2060joiner',
    )
    expect(visibleText('line\u2028para\u2029')).toBe('line\\u2028para\\u2029')
    // Tag characters spell text nobody sees: "AB" hidden after the visible "x".
    expect(visibleText('x\u{E0041}\u{E0042}')).toBe('x\\u{E0041}\\u{E0042}')
  })

  it('leaves visible text, spaces, joiners and emoji as they are', () => {
    const shown = [
      '/pricing?plan=pro',
      'Café Ünïcödé – “quotes” · 日本語 · עברית · العربية',
      'two  spaces\u00A0nbsp',
      // A family emoji (joined by U+200D) and a Persian word with U+200C.
      '👨\u200D👩\u200D👧 می\u200Cخواهم',
      'flags 🇰🇷, variation ❤\uFE0F',
      'a literal \\u202E stays',
      '',
    ]
    for (const text of shown) expect(visibleText(text)).toBe(text)
  })

  it('leaves HTML escaping to come after it', () => {
    expect(escapeHtml(visibleText('<b>\u202E</b>'))).toBe('&lt;b&gt;\\u202E&lt;/b&gt;')
  })
})
