/**
 * Every price the cost model uses: on-demand list prices for ap-northeast-2 (Seoul), in USD,
 * each with where it comes from and when it was read. Free tiers are listed apart
 * (FREE_TIERS) and never subtracted from the targets.
 *
 * Read on 2026-12-07 from the stored copies of AWS's pricing pages the search tool keeps. Those
 * pages draw their regional tables in the browser, so the stored copies name the units, the
 * free tiers and the us-east-1 worked examples, but not always a Seoul figure. Where a Seoul
 * figure was not in what could be read, `note` says so and which figure is used and why.
 * Check the pricing pages before relying on a figure.
 */

export interface Price {
  usd: number
  unit: string
  source: string
  read: string
  note?: string
}

const READ = '2026-12-07'

export const PRICES = {
  dynamodb_write_request_units: {
    usd: 0.7068,
    unit: 'per million write request units (on demand, Standard table class)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    read: READ,
    note: 'The stored page names the unit (1 KB a write, twice for a transaction) but draws the regional rate in the browser. The figure is the one this bench assumed before (half the earlier Seoul rate of $1.4135, after the November 2024 cut); not re-verified against a Seoul table here.',
  },
  dynamodb_read_request_units: {
    usd: 0.1414,
    unit: 'per million read request units (4 KB strongly consistent, half that eventually consistent)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    read: READ,
    note: 'As for writes: half the earlier $0.283, carried from the previous bench; not re-verified against a Seoul table here.',
  },
  lambda_requests: {
    usd: 0.2,
    unit: 'per million invocations (x86 and Arm alike)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
  },
  lambda_gb_second_x86_64: {
    usd: 0.0000166667,
    unit: 'per GB-second, x86_64, first tier (6 billion GB-s a month)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
    note: "Seoul is at the base rate: artillery's per-region Lambda price table (https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js) lists only the regions that differ from the base (af-south-1, ap-east-1, eu-south-1, me-south-1, me-central-1).",
  },
  lambda_gb_second_arm64: {
    usd: 0.0000133334,
    unit: 'per GB-second, arm64, first tier',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
    note: 'Base rate as for x86_64 (same artillery table). Used only if infra/terraform sets architectures = ["arm64"].',
  },
  lambda_init_billed: {
    usd: 0,
    unit: 'flag: the INIT phase is billed as duration (on-demand functions, zip packages, managed runtimes)',
    source: 'https://aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/',
    read: READ,
    note: 'Since 2025-08-01 the init duration of a cold start is billed at the GB-second rate: the model adds it to every cold start.',
  },
  logs_ingestion: {
    usd: 0.76,
    unit: 'per GB ingested (Lambda logs: vended-log tier 1, the first 10 TB)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    read: READ,
    note: 'The stored page draws the regional tables in the browser; $0.76 is the Seoul standard ingestion rate as this bench knows it (us-east-1: $0.50). Not re-verified here.',
  },
  logs_storage: {
    usd: 0.0314,
    unit: 'per GB-month stored (archived)',
    source: 'https://dev.classmethod.jp/articles/cost-optimize-of-logs-stored-on-cloudwatch-kr/',
    read: READ,
    note: 'Seoul figure as quoted there (2023-11-17); the model stores the uncompressed bytes for the log groups retention (infra/terraform), an upper bound: storage is billed compressed.',
  },
  api_gateway_rest: {
    usd: 3.5,
    unit: 'per million REST API calls (first 333 million a month)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    read: READ,
    note: 'The stored page gives $3.50 in its worked examples (US regions) and draws the Seoul table in the browser; $3.50 is used for Seoul.',
  },
  api_gateway_http: {
    usd: 1.0,
    unit: 'per million HTTP API calls (first 300 million a month; a call is metered in 512 KB increments)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    read: READ,
    note: 'The stored page gives $1.00 in its worked example (US regions) and draws the Seoul table in the browser; $1.00 is used for Seoul. A collector request is far under 512 KB: one call each.',
  },
  lambda_function_url: {
    usd: 0,
    unit: 'per request: a function URL has no fee beyond the function invocation',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
  },
  cloudfront_https_requests: {
    usd: 0.012,
    unit: 'per 10,000 HTTPS requests, viewers in the Asia Pacific price region (Korea among them)',
    source: 'https://aws.amazon.com/cloudfront/pricing/',
    read: READ,
    note: 'Pay-as-you-go rate (not a flat-rate plan). The stored page draws the table in the browser; $0.0120 is the Asia Pacific figure as this bench knows it.',
  },
  cloudfront_data_out: {
    usd: 0.12,
    unit: 'per GB to the internet, Asia Pacific price region, first 10 TB',
    source: 'https://aws.amazon.com/cloudfront/pricing/',
    read: READ,
    note: 'As for requests: the Asia Pacific figure as this bench knows it.',
  },
  cloudfront_to_origin: {
    usd: 0.06,
    unit: 'per GB from CloudFront to the origin (the request bodies), Asia Pacific',
    source: 'https://aws.amazon.com/cloudfront/pricing/',
    read: READ,
    note: 'As for requests: the Asia Pacific figure as this bench knows it.',
  },
  region_data_out: {
    usd: 0.126,
    unit: 'per GB from the region to the internet (first 10 TB a month), Asia Pacific (Seoul): what API Gateway charges for its answers, at the EC2 data transfer rate',
    source:
      'https://aws.amazon.com/api-gateway/pricing/ (data transfer at the EC2 rate: https://aws.amazon.com/ec2/pricing/on-demand/)',
    read: READ,
    note: 'Used only for the HTTP API reached without CloudFront. The EC2 page draws its table in the browser; $0.126 is the Seoul figure as this bench knows it.',
  },
  waf_web_acl: {
    usd: 5,
    unit: 'per web ACL a month (prorated hourly)',
    source: 'https://aws.amazon.com/waf/pricing/',
    read: READ,
  },
  waf_rule: {
    usd: 1,
    unit: 'per rule a month',
    source: 'https://aws.amazon.com/waf/pricing/',
    read: READ,
  },
  waf_requests: {
    usd: 0.6,
    unit: 'per million requests the web ACL inspects',
    source: 'https://aws.amazon.com/waf/pricing/',
    read: READ,
  },
  cloudwatch_alarm_metric: {
    usd: 0.1,
    unit: 'per standard-resolution alarm metric a month (a metric-math alarm pays per metric it reads)',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    read: READ,
  },
  cloudwatch_dashboard: {
    usd: 3,
    unit: 'per dashboard a month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    read: READ,
  },
  eventbridge_scheduled_rule: {
    usd: 0,
    unit: 'per scheduled invocation by a rule on the default event bus',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    read: READ,
    note: 'Scheduled rules publish no custom events: no EventBridge fee; the invocations are billed by Lambda.',
  },
} satisfies Record<string, Price>

export type PriceName = keyof typeof PRICES

/** Free tiers: shown apart, never counted in the targets. */
export const FREE_TIERS = [
  {
    what: 'Lambda: 1 million requests and 400,000 GB-seconds a month (x86 and Arm together), every account, every month',
    source: 'https://aws.amazon.com/lambda/pricing/',
    read: READ,
  },
  {
    what: 'CloudWatch: 10 alarm metrics, 3 dashboards of up to 50 metrics, 5 GB of log data (ingestion, storage, scanned) a month',
    source: 'https://aws.amazon.com/cloudwatch/pricing/',
    read: READ,
  },
  {
    what: 'CloudFront: 1 TB out and 10 million HTTP(S) requests a month (always free)',
    source: 'https://aws.amazon.com/cloudfront/pricing/',
    read: READ,
  },
  {
    what: 'API Gateway: 1 million REST and 1 million HTTP API calls a month for 12 months (accounts before 2025-07-15; later accounts get credits instead)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    read: READ,
  },
  {
    what: 'DynamoDB: 25 GB of storage; on-demand requests have no free tier',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    read: READ,
  },
  {
    what: 'DynamoDB Streams: GetRecords calls made by a Lambda event source mapping are free',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    read: READ,
  },
] as const
