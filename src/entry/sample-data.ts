import { parseArgs } from 'node:util'
import { sendSampleDay } from './sample-day.ts'

/**
 * `npm run sample-data -- --url URL --key KEY [--visitors N]`: a believable day of traffic
 * through the public API of either shape (sample-day.ts), so a fresh deployment has
 * something to show. Node's own parseArgs reads the options.
 */
const usage = 'usage: npm run sample-data -- --url https://HOST --key INGEST_KEY [--visitors 80]'
let values: { url?: string; key?: string; visitors?: string; help?: boolean }
try {
  values = parseArgs({
    options: {
      url: { type: 'string' },
      key: { type: 'string' },
      visitors: { type: 'string', default: '80' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values
} catch (error) {
  process.stderr.write(`sample-data: ${(error as Error).message}\n${usage}\n`)
  process.exit(2)
}
if (values.help) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const visitors = Number(values.visitors)
if (!values.url || !values.key || !Number.isInteger(visitors) || visitors < 1) {
  process.stderr.write(`sample-data: --url, --key and a whole --visitors are needed\n${usage}\n`)
  process.exit(2)
}
const result = await sendSampleDay({ url: values.url, key: values.key, visitors })
process.stdout.write(`${JSON.stringify(result)}\n`)
if (result.refused > 0) {
  process.stderr.write(`sample-data: ${result.refused} requests were refused (wrong key or URL?)\n`)
  process.exit(1)
}
