import { describe, expect, it } from 'vitest'
import type { RealtimeSnapshot } from '../live/live-window.ts'
import { makeEvent, makeSession, makeSite } from '../testing/fixtures.ts'
import { renderPropertiesPanel } from './properties-panel.ts'
import { renderRealtimeFragment } from './realtime-fragment.ts'
import { renderTimelinePage } from './timeline-page.ts'

const RLO = '\u202E'

/** The text a page shows of some HTML, tags aside and entities read. */
function text(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
}

describe('views of user-sent text that no test in Chromium opens', () => {
  it('the realtime HTMX fragment shows invisible characters escaped', () => {
    const now = Date.UTC(2026, 0, 15, 10)
    const snapshot: RealtimeSnapshot = {
      active_visitors: 1,
      active_sessions: 1,
      pageviews_per_minute: [],
      events_last_5m: 1,
      sources: [],
      countries: [],
      devices: [],
      approximate: false,
      generated_at: new Date(now).toISOString(),
      pages: [{ page_url: `/a${RLO}b%00c`, visitors: 1 }],
      recent_events: [
        {
          timestamp: new Date(now).toISOString(),
          event_type: `sign${RLO}up`,
          page_url: '/x%E2%80%AEy',
          title: `T${RLO}`,
          country: 'KR',
          device: 'desktop',
          session_id: 's',
        },
      ],
    }
    const shown = text(renderRealtimeFragment(snapshot).html)
    expect(shown).toContain('/a\\u202Eb\\u0000c')
    expect(shown).toContain('sign\\u202Eup')
    expect(shown).toContain('/x\\u202Ey')
    expect(shown).toContain('T\\u202E')
    expect(shown).not.toMatch(/[\u202E\u0000]/)
  })

  it('the properties panel shows property keys and values escaped', () => {
    const key = `plan${RLO}`
    const panel = renderPropertiesPanel(
      { siteId: 'site-a', period: '7d', props: key },
      {
        prop_keys: [key, 'ok'],
        props: {
          [key]: [
            { value: `pro${RLO}x`, visitors: 2, events: 3 },
            { value: 'a\u0000b', visitors: 1, events: 1 },
          ],
        },
      },
    )
    const shown = text(String(panel))
    expect(shown).toContain('plan\\u202E')
    expect(shown).toContain('pro\\u202Ex')
    expect(shown).toContain('a\\u0000b')
    expect(shown).not.toMatch(/[\u202E\u0000]/)
  })

  it('a visit timeline shows paths, titles, referrers, event names and props escaped', () => {
    const event = makeEvent({
      event_type: `buy${RLO}`,
      path: `/p${RLO}`,
      title: `<b>${RLO}</b>`,
      referrer: `https://ref.example/${RLO}`,
      props: { [`k${RLO}`]: `v\u200F`, n: 1 },
    })
    const page = renderTimelinePage(
      makeSite(),
      makeSession({ source: `src${RLO}`, user_id: `u${RLO}` }),
      [event],
    ).html
    const shown = text(page)
    for (const expected of [
      'buy\\u202E',
      '/p\\u202E',
      '<b>\\u202E</b>',
      'from https://ref.example/\\u202E',
      'k\\u202E=v\\u200F, n=1',
      'src\\u202E',
      'u\\u202E',
    ]) {
      expect(shown).toContain(expected)
    }
    expect(shown).not.toMatch(/[\u202E\u200F]/)
    // The HTML escaping still applies after it.
    expect(page).not.toContain('<b>')
  })
})
