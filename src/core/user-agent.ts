import { isbot } from 'isbot'
import { UAParser } from 'ua-parser-js'
import { boundedMemo } from './bounded-memo.ts'

export interface ParsedUserAgent {
  browser: string
  os: string
  device: string
  bot: boolean
}

/**
 * ua-parser-js is regex-heavy (tens of µs per call) while real traffic repeats a few hundred
 * distinct user agents, so results are memoised in a small bounded cache.
 */
export const parseUserAgent = boundedMemo(2000, (userAgent: string) => userAgent, parseUncached)

function parseUncached(userAgent: string): ParsedUserAgent {
  // An empty user agent is no browser anyone runs: treat it as automated traffic.
  if (userAgent.trim() === '') return { browser: '', os: '', device: '', bot: true }
  const result = new UAParser(userAgent).getResult()
  return {
    browser: result.browser.name ?? 'Unknown',
    os: result.os.name ?? 'Unknown',
    // ua-parser leaves the type unset for desktops.
    device: result.device.type ?? 'desktop',
    bot: isbot(userAgent),
  }
}
