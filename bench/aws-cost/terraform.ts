/**
 * What infra/terraform deploys, as the cost model needs it, read from the .tf files
 * (@cdktf/hcl2json, offline): so the model follows the Terraform, and a setting it cannot
 * read stops the bench instead of being guessed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const DIR = fileURLToPath(new URL('../../infra/terraform', import.meta.url))

/** HCL parsed to JSON: no static shape. */
type Json = any

export interface DeployedShape {
  functions: string[]
  architecture: 'x86_64' | 'arm64'
  /** The memory of the first function (and of any the map below does not name). */
  memory_mb: number
  /** Each function's memory, by its key in `local.functions`. */
  memory_mb_by_function: Record<string, number>
  log_level: string
  /** Lambda's own log lines sent: INFO (the default: START, END, REPORT) or WARN (none). */
  system_log_level: 'DEBUG' | 'INFO' | 'WARN'
  log_retention_days: number
  rollup_batch_size: number
  rollup_batching_window_s: number
  rollup_parallelization_factor: number
  /** Alarms and the metrics they read (a metric-math alarm is billed per metric it reads). */
  alarms: { name: string; count: number; metrics_each: number }[]
  alarm_metrics: number
  dashboards: number
  waf: { web_acls: number; rules: number }
  /**
   * The collector's door the Terraform deploys by default (collector_door): `direct` is the
   * model's `http_api_direct`, `edge` its `rest_api`.
   */
  collector_door: 'direct' | 'edge'
  schedules: { name: string; expression: string; invocations_per_month: number }[]
}

/** @cdktf/hcl2json by a name the type checker does not follow (its typings pull in the DOM). */
async function hclParser(): Promise<(file: string, text: string) => Promise<Json>> {
  const name = '@cdktf/hcl2json'
  return ((await import(name)) as { parse: (file: string, text: string) => Promise<Json> }).parse
}

async function parseAll() {
  const parse = await hclParser()
  const merged = { resource: {}, locals: {}, variable: {} } as Json
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.tf'))) {
    const json = await parse(file, readFileSync(join(DIR, file), 'utf8'))
    for (const [kind, blocks] of Object.entries(json as Json)) {
      if (kind === 'locals') {
        for (const local of blocks as Json[]) Object.assign(merged.locals, local)
      } else if (kind === 'resource') {
        for (const [type, named] of Object.entries(blocks as Json)) {
          merged.resource[type] = { ...merged.resource[type], ...(named as Json) }
        }
      } else if (kind === 'variable') {
        Object.assign(merged.variable, blocks)
      }
    }
  }
  return merged
}

const one = (blocks: Json) => (Array.isArray(blocks) ? blocks[0] : blocks)

/** A literal, or `${var.NAME}` resolved to the variable's default. */
function value(tf: Json, raw: unknown, what: string): unknown {
  if (typeof raw !== 'string') return raw
  const variable = /^\$\{var\.([A-Za-z0-9_]+)\}$/.exec(raw)
  if (!variable) return raw
  const declared = one(tf.variable[variable[1] as string])
  if (declared?.default === undefined) throw new Error(`terraform: ${what}: ${raw} has no default`)
  return declared.default
}

function numberOf(tf: Json, raw: unknown, what: string): number {
  const n = Number(value(tf, raw, what))
  if (!Number.isFinite(n)) throw new Error(`terraform: ${what} is not a number (${String(raw)})`)
  return n
}

/** How many instances a `for_each` makes, for the two forms monitoring.tf uses. */
function forEachCount(tf: Json, forEach: unknown, what: string): number {
  if (forEach === undefined) return 1
  const local = /^\$\{local\.([A-Za-z0-9_]+)\}$/.exec(String(forEach))
  if (local) return Object.keys(tf.locals[local[1] as string] ?? {}).length
  const product = /setproduct\(keys\(local\.([A-Za-z0-9_]+)\),\s*\[([^\]]*)\]\)/.exec(
    String(forEach),
  )
  if (product) {
    const keys = Object.keys(tf.locals[product[1] as string] ?? {}).length
    const list = (product[2] as string).split(',').filter((s) => s.trim()).length
    return keys * list
  }
  throw new Error(`terraform: cannot count the for_each of ${what}: ${String(forEach)}`)
}

/** `rate(N unit)` as invocations in a 30-day month. */
export function scheduleInvocationsPerMonth(expression: string): number {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression)
  if (!rate) throw new Error(`terraform: cannot read the schedule ${expression}`)
  const every = Number(rate[1])
  const unitMinutes = (rate[2] as string).startsWith('minute')
    ? 1
    : (rate[2] as string).startsWith('hour')
      ? 60
      : 1440
  return (30 * 1440) / (every * unitMinutes)
}

/** `memory_size`: a number, a variable, or `each.value.memory` read from the function's entry. */
function memoryOf(tf: Json, raw: unknown, entry: Json): number {
  if (raw === '${each.value.memory}') return numberOf(tf, entry?.memory, 'memory')
  return numberOf(tf, raw, 'memory_size')
}

function systemLogLevel(config: Json): DeployedShape['system_log_level'] {
  const level = String(config?.system_log_level ?? 'INFO')
  if (level === 'DEBUG' || level === 'INFO' || level === 'WARN') return level
  throw new Error(`terraform: cannot read system_log_level ${level}`)
}

export async function readDeployedShape(): Promise<DeployedShape> {
  const tf = await parseAll()
  const fn = one(tf.resource.aws_lambda_function.functions)
  const architectures = fn.architectures ?? ['x86_64']
  const env = tf.locals.function_environment ?? {}
  const mapping = one(tf.resource.aws_lambda_event_source_mapping.rollup)
  const alarms = Object.entries(tf.resource.aws_cloudwatch_metric_alarm ?? {}).map(
    ([name, blocks]) => {
      const alarm = one(blocks)
      const queries = (alarm.metric_query ?? []) as Json[]
      const metrics = queries.length ? queries.filter((q) => q.metric).length : 1
      return { name, count: forEachCount(tf, alarm.for_each, name), metrics_each: metrics }
    },
  )
  const acl = one(tf.resource.aws_wafv2_web_acl?.edge ?? [])
  const schedules = Object.entries(tf.resource.aws_cloudwatch_event_rule ?? {}).map(
    ([name, blocks]) => {
      const expression = String(one(blocks).schedule_expression)
      return { name, expression, invocations_per_month: scheduleInvocationsPerMonth(expression) }
    },
  )
  return {
    functions: Object.keys(tf.locals.functions ?? {}),
    architecture: architectures[0] === 'arm64' ? 'arm64' : 'x86_64',
    memory_mb: memoryOf(tf, fn.memory_size, Object.values(tf.locals.functions ?? {})[0]),
    memory_mb_by_function: Object.fromEntries(
      Object.entries(tf.locals.functions ?? {}).map(([name, f]) => [
        name,
        memoryOf(tf, fn.memory_size, f),
      ]),
    ),
    log_level: String(value(tf, env.LOG_LEVEL ?? 'info', 'LOG_LEVEL')),
    system_log_level: systemLogLevel(one(fn.logging_config ?? [])),
    log_retention_days: numberOf(
      tf,
      one(tf.resource.aws_cloudwatch_log_group.functions).retention_in_days,
      'retention_in_days',
    ),
    rollup_batch_size: numberOf(tf, mapping.batch_size, 'batch_size'),
    rollup_batching_window_s: numberOf(
      tf,
      mapping.maximum_batching_window_in_seconds,
      'maximum_batching_window_in_seconds',
    ),
    rollup_parallelization_factor: numberOf(
      tf,
      mapping.parallelization_factor ?? 1,
      'parallelization_factor',
    ),
    alarms,
    alarm_metrics: alarms.reduce((sum, a) => sum + a.count * a.metrics_each, 0),
    dashboards: Object.keys(tf.resource.aws_cloudwatch_dashboard ?? {}).length,
    waf: {
      web_acls: Object.keys(tf.resource.aws_wafv2_web_acl ?? {}).length,
      rules: acl ? (acl.rule ?? []).length : 0,
    },
    collector_door: one(tf.variable.collector_door)?.default === 'edge' ? 'edge' : 'direct',
    schedules,
  }
}

/** Seconds between the sweep's scheduled runs (the rule named `sweep`). */
export function sweepIntervalS(shape: DeployedShape): number {
  const sweep = shape.schedules.find((s) => s.name === 'sweep')
  if (!sweep) throw new Error('terraform: no aws_cloudwatch_event_rule "sweep"')
  return (30 * 86_400) / sweep.invocations_per_month
}
