import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The AWS provider's schema, cut down to the types infra/terraform uses
 * (scripts/terraform-schema.ts writes it from the CDK for Terraform bindings' jsii assembly),
 * and a check of the Terraform against it that runs offline: `terraform validate` needs the
 * provider, which only `terraform init` can download.
 */

/** A type as Terraform spells it: string, number, bool, any, list(T), map(T). */
export type ArgumentType = string

export interface BlockSchema {
  /** Arguments (attributes that may be set) by their Terraform name. */
  arguments?: Record<string, ArgumentType>
  /** Arguments and blocks that must be given. */
  required?: string[]
  blocks?: Record<string, NestedBlockSchema>
}

export interface NestedBlockSchema extends BlockSchema {
  /**
   * single: at most one (max_items 1); list: any number; opaque: the bindings give no
   * structure (the WAF's statement tree), so nothing inside is checked.
   */
  nesting: 'single' | 'list' | 'opaque'
  /** An object-typed argument rather than a block: `name = {…}` is allowed too. */
  attribute?: true
}

export interface TypeSchema extends BlockSchema {
  /** Attributes only the provider sets, which may be referenced but not given. */
  computed?: string[]
}

export interface ProviderSchema {
  provider: string
  version: string
  source: string
  /** Every resource and data source type of the provider, to tell a misspelt type from one not recorded here. */
  resource_types: string[]
  data_source_types: string[]
  provider_config: BlockSchema
  resources: Record<string, TypeSchema>
  data_sources: Record<string, TypeSchema>
}

export const SCHEMA_FILE = join(
  import.meta.dirname,
  '..',
  '..',
  'infra',
  'terraform',
  'schema',
  'aws-5.99.1.json',
)

export const REGENERATE =
  'npx tsx scripts/terraform-schema.ts <path to @cdktf/provider-aws@19.65.1 .jsii>'

export function loadSchema(file = SCHEMA_FILE): ProviderSchema {
  return JSON.parse(readFileSync(file, 'utf8')) as ProviderSchema
}

/** HCL as @cdktf/hcl2json gives it: no static shape. */
type Json = any

export interface TerraformFile {
  file: string
  json: Json
}

/**
 * @cdktf/hcl2json's parse, loaded by a name the type checker does not follow: its typings
 * pull in the DOM library, which would change Node's stream types for the whole project.
 */
async function hclParser(): Promise<(file: string, text: string) => Promise<unknown>> {
  const name = '@cdktf/hcl2json'
  return ((await import(name)) as { parse: (file: string, text: string) => Promise<unknown> }).parse
}

/**
 * Parsed files by their text: the parser (Go in WebAssembly) takes a few hundred ms a file
 * on a busy machine, and a copy of infra/terraform with one file changed parses that one.
 * The checker only reads what it is given.
 */
const parsed = new Map<string, Json>()

/** Every .tf file of a directory, parsed, in name order. */
export async function readTerraform(dir: string): Promise<TerraformFile[]> {
  const parse = await hclParser()
  const files: TerraformFile[] = []
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort()) {
    const text = readFileSync(join(dir, file), 'utf8')
    const key = `${file}\n${text}`
    if (!parsed.has(key)) parsed.set(key, await parse(file, text))
    files.push({ file, json: parsed.get(key) })
  }
  return files
}

/** The resource and data source types the files declare. */
/** The provider's types the files use: `terraform_data` is Terraform's own, checked apart. */
export function typesUsed(files: TerraformFile[]): { resources: string[]; data: string[] } {
  const resources = new Set<string>()
  const data = new Set<string>()
  for (const { json } of files) {
    for (const type of Object.keys(json.resource ?? {})) {
      if (type !== 'terraform_data') resources.add(type)
    }
    for (const type of Object.keys(json.data ?? {})) data.add(type)
  }
  return { resources: [...resources].sort(), data: [...data].sort() }
}

const RESOURCE_META = new Set(['count', 'for_each', 'provider', 'depends_on'])
const RESOURCE_META_BLOCKS = new Set(['lifecycle', 'provisioner', 'connection'])
const DATA_META_BLOCKS = new Set(['lifecycle'])
const LIFECYCLE_ARGUMENTS = new Set([
  'create_before_destroy',
  'prevent_destroy',
  'ignore_changes',
  'replace_triggered_by',
])
const CONDITION_BLOCKS = new Set(['precondition', 'postcondition'])
/** Terraform's own resource type, which needs no provider. */
const TERRAFORM_DATA: TypeSchema = {
  arguments: { input: 'any', triggers_replace: 'any' },
  computed: ['output'],
}
const VARIABLE_ARGUMENTS = new Set([
  'type',
  'default',
  'description',
  'sensitive',
  'nullable',
  'ephemeral',
  'validation',
])
const OUTPUT_ARGUMENTS = new Set([
  'value',
  'description',
  'sensitive',
  'depends_on',
  'ephemeral',
  'precondition',
])
const TOP_LEVEL = new Set([
  'terraform',
  'provider',
  'variable',
  'output',
  'locals',
  'resource',
  'data',
  'module',
  'moved',
  'import',
  'removed',
  'check',
])

const isObject = (value: unknown): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const isExpression = (value: unknown) => typeof value === 'string' && value.includes('${')

/**
 * The expressions inside a string as hcl2json gives it ("${…}" spans), with the text of
 * quoted strings inside them blanked out, so `"${local.name}-aws_x.y"` yields only code.
 */
export function expressionsIn(text: string): string[] {
  const found: string[] = []
  const readExpression = (start: number): number => {
    let code = ''
    let depth = 1
    let i = start
    while (i < text.length) {
      const c = text[i]
      if (c === '"') {
        i = readQuoted(i + 1)
        code += '""'
        continue
      }
      if (c === '{') depth++
      if (c === '}') {
        depth--
        if (depth === 0) {
          found.push(code)
          return i + 1
        }
      }
      code += c
      i++
    }
    found.push(code)
    return i
  }
  const readQuoted = (start: number): number => {
    let i = start
    while (i < text.length) {
      const c = text[i]
      if (c === '\\') {
        i += 2
        continue
      }
      if (c === '"') return i + 1
      if (c === '$' && text[i + 1] === '{') {
        i = readExpression(i + 2)
        continue
      }
      i++
    }
    return i
  }
  let i = 0
  while (i < text.length) {
    if (text[i] === '$' && text[i + 1] === '$' && text[i + 2] === '{') {
      i += 3
      continue
    }
    if (text[i] === '$' && text[i + 1] === '{') {
      i = readExpression(i + 2)
      continue
    }
    i++
  }
  return found
}

/** A reference an expression makes: var.x, local.x, aws_x.name(.attr), data.aws_x.name(.attr). */
export interface Reference {
  kind: 'var' | 'local' | 'resource' | 'data' | 'module' | 'each' | 'count' | 'provider'
  type?: string
  name: string
  indexed?: boolean
  attribute?: string
}

const NAME = '[A-Za-z_][A-Za-z0-9_-]*'
const REFERENCE = new RegExp(
  // The index and attribute are looked ahead at, not consumed: an index holds references too.
  `(?<![A-Za-z0-9_.\\]])(?:(var|local|module|each|count)\\.(${NAME})|(data\\.)?(aws_[a-z0-9_]+)\\.(${NAME})(?=(\\[[^\\]]*\\])?(?:\\.(${NAME}))?))`,
  'g',
)

export function referencesIn(code: string): Reference[] {
  const found: Reference[] = []
  for (const m of code.matchAll(REFERENCE)) {
    if (m[1]) {
      found.push({ kind: m[1] as Reference['kind'], name: m[2] as string })
    } else {
      const reference: Reference = {
        kind: m[3] ? 'data' : 'resource',
        type: m[4] as string,
        name: m[5] as string,
        indexed: Boolean(m[6]),
      }
      if (m[7]) reference.attribute = m[7]
      found.push(reference)
    }
  }
  return found
}

/** Every string under a value (attribute values, nested blocks), for the references in it. */
function stringsUnder(value: Json, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value)
  else if (Array.isArray(value)) for (const v of value) stringsUnder(v, out)
  else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      // A map's keys may be expressions too: `{ (local.key) = … }` arrives as "${local.key}".
      if (key.includes('${')) out.push(key)
      stringsUnder(v, out)
    }
  }
  return out
}

/** Whether a literal (no expression) of this JSON value can be converted to the type. */
function literalFits(value: Json, type: ArgumentType): boolean {
  if (value === null || type === 'any' || isExpression(value)) return true
  if (type === 'string') return ['string', 'number', 'boolean'].includes(typeof value)
  if (type === 'number') {
    if (typeof value === 'number') return true
    return typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))
  }
  if (type === 'bool') {
    return typeof value === 'boolean' || value === 'true' || value === 'false'
  }
  const inner = /^(list|map)\((.*)\)$/.exec(type)
  if (inner) {
    const element = inner[2] as string
    if (inner[1] === 'list') {
      return Array.isArray(value) && value.every((v) => literalFits(v, element))
    }
    return isObject(value) && Object.values(value).every((v) => literalFits(v, element))
  }
  return true
}

function describe(value: Json): string {
  if (Array.isArray(value)) return 'a list'
  if (isObject(value)) return 'an object'
  return `${typeof value} ${JSON.stringify(value)}`
}

interface Context {
  file: string
  where: string
  problems: string[]
}

/** Holds one block's body (a resource's, a nested block's) to its schema. */
function checkBody(
  body: Json,
  schema: BlockSchema,
  context: Context,
  allowed: { arguments?: Set<string>; blocks?: Set<string> } = {},
) {
  const report = (message: string) =>
    context.problems.push(`${context.file}: ${context.where}: ${message}`)
  if (!isObject(body)) {
    report(`expected a block body, found ${describe(body)}`)
    return
  }
  const args = schema.arguments ?? {}
  const blocks = schema.blocks ?? {}
  const present = new Set<string>()
  for (const [key, value] of Object.entries(body)) {
    if (key === 'dynamic') {
      for (const [name, generators] of Object.entries(value as Record<string, Json[]>)) {
        present.add(name)
        const nested = blocks[name]
        const where = `${context.where} dynamic "${name}"`
        if (!nested) {
          report(
            args[name]
              ? `"${name}" is an argument, not a block`
              : `unknown block "${name}" (dynamic)`,
          )
          continue
        }
        for (const generator of [generators].flat()) {
          for (const extra of Object.keys(generator)) {
            if (!['for_each', 'iterator', 'labels', 'content'].includes(extra)) {
              context.problems.push(`${context.file}: ${where}: unknown argument "${extra}"`)
            }
          }
          if (generator.for_each === undefined) {
            context.problems.push(`${context.file}: ${where}: missing for_each`)
          }
          const contents = [generator.content ?? []].flat()
          if (contents.length !== 1) {
            context.problems.push(`${context.file}: ${where}: needs exactly one content block`)
          }
          for (const content of contents) {
            if (nested.nesting !== 'opaque') checkBody(content, nested, { ...context, where })
          }
        }
      }
      continue
    }
    present.add(key)
    if (allowed.arguments?.has(key) || allowed.blocks?.has(key)) continue
    if (key in args) {
      const type = args[key] as ArgumentType
      if (!literalFits(value, type)) {
        report(`argument "${key}" takes ${type}, given ${describe(value)}`)
      }
      continue
    }
    const nested = blocks[key]
    if (!nested) {
      report(`unknown argument or block "${key}"`)
      continue
    }
    if (isExpression(value) && nested.attribute) continue
    if (!Array.isArray(value)) {
      if (nested.attribute && isObject(value)) {
        checkBody(value, nested, { ...context, where: `${context.where} ${key}` })
        continue
      }
      report(`"${key}" is a block: write ${key} { … }, not ${key} = …`)
      continue
    }
    if (nested.nesting === 'opaque') continue
    if (nested.nesting === 'single' && value.length > 1) {
      report(`block "${key}" may appear once, appears ${value.length} times`)
    }
    for (const item of value) {
      checkBody(item, nested, { ...context, where: `${context.where} ${key}` })
    }
  }
  for (const name of schema.required ?? []) {
    if (!present.has(name)) {
      report(`missing required ${name in args ? 'argument' : 'block'} "${name}"`)
    }
  }
}

function checkLifecycle(body: Json, context: Context, kind: 'resource' | 'data') {
  for (const lifecycle of [body].flat()) {
    for (const [key, value] of Object.entries(lifecycle as Record<string, Json>)) {
      if (CONDITION_BLOCKS.has(key)) {
        for (const condition of [value].flat()) checkCondition(condition, context, key)
      } else if (kind === 'data' || !LIFECYCLE_ARGUMENTS.has(key)) {
        context.problems.push(
          `${context.file}: ${context.where}: unknown lifecycle argument "${key}"`,
        )
      }
    }
  }
}

function checkCondition(body: Json, context: Context, kind: string) {
  checkBody(
    body,
    {
      arguments: { condition: 'bool', error_message: 'string' },
      required: ['condition', 'error_message'],
    },
    { ...context, where: `${context.where} ${kind}` },
  )
}

/** Blocks of one kind and label from every file, with the file each came from. */
function* declared(files: TerraformFile[], kind: 'resource' | 'data') {
  for (const { file, json } of files) {
    for (const [type, named] of Object.entries((json[kind] ?? {}) as Record<string, Json>)) {
      for (const [name, bodies] of Object.entries(named as Record<string, Json>)) {
        for (const body of [bodies].flat()) yield { file, type, name, body }
      }
    }
  }
}

/**
 * Everything found wrong in the Terraform of `dir` against the provider's schema: types,
 * arguments, blocks, literal types, references. Empty when it is well formed as far as the
 * schema can tell.
 */
export async function checkTerraformDir(dir: string, schema = loadSchema()): Promise<string[]> {
  return checkTerraform(await readTerraform(dir), schema)
}

export function checkTerraform(files: TerraformFile[], schema: ProviderSchema): string[] {
  const problems: string[] = []
  const knownResources = new Set(schema.resource_types)
  const knownData = new Set(schema.data_source_types)
  const variables = new Set<string>()
  const locals = new Set<string>()
  const modules = new Set<string>()
  const providerAliases = new Set<string>()
  const instances = new Map<string, { repeated: boolean }>()
  const once = (what: string, key: string, file: string, seen: Set<string>) => {
    if (seen.has(key)) problems.push(`${file}: ${what} "${key}" is declared more than once`)
    seen.add(key)
  }

  for (const { file, json } of files) {
    for (const kind of Object.keys(json)) {
      if (!TOP_LEVEL.has(kind)) problems.push(`${file}: unknown top-level block "${kind}"`)
    }
    for (const [name, bodies] of Object.entries((json.variable ?? {}) as Record<string, Json>)) {
      once('variable', name, file, variables)
      for (const body of [bodies].flat()) {
        for (const key of Object.keys(body)) {
          if (!VARIABLE_ARGUMENTS.has(key)) {
            problems.push(`${file}: variable "${name}": unknown argument "${key}"`)
          }
        }
        for (const validation of [body.validation ?? []].flat()) {
          checkCondition(validation, { file, where: `variable "${name}"`, problems }, 'validation')
        }
      }
    }
    for (const block of [json.locals ?? []].flat()) {
      for (const name of Object.keys(block)) once('local', name, file, locals)
    }
    for (const name of Object.keys(json.module ?? {})) modules.add(name)
    for (const [name, bodies] of Object.entries((json.output ?? {}) as Record<string, Json>)) {
      for (const body of [bodies].flat()) {
        for (const key of Object.keys(body)) {
          if (!OUTPUT_ARGUMENTS.has(key)) {
            problems.push(`${file}: output "${name}": unknown argument "${key}"`)
          }
        }
        if (!('value' in body)) problems.push(`${file}: output "${name}": missing "value"`)
      }
    }
    for (const [name, bodies] of Object.entries((json.provider ?? {}) as Record<string, Json>)) {
      for (const body of [bodies].flat()) {
        const alias = typeof body.alias === 'string' ? body.alias : ''
        once('provider configuration', alias ? `${name}.${alias}` : name, file, providerAliases)
        if (name !== 'aws') continue
        checkBody(
          body,
          schema.provider_config,
          { file, where: `provider "aws"${alias ? ` (${alias})` : ''}`, problems },
          { arguments: new Set(['alias', 'version']) },
        )
      }
    }
  }

  for (const kind of ['resource', 'data'] as const) {
    for (const { file, type, name, body } of declared(files, kind)) {
      const address = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`
      if (instances.has(address)) problems.push(`${file}: ${address} is declared more than once`)
      instances.set(address, {
        repeated: body.count !== undefined || body.for_each !== undefined,
      })
      const context = { file, where: `${kind === 'data' ? 'data ' : ''}${type}.${name}`, problems }
      const types = kind === 'data' ? schema.data_sources : schema.resources
      const typeSchema =
        kind === 'resource' && type === 'terraform_data' ? TERRAFORM_DATA : types[type]
      if (!typeSchema) {
        const known = kind === 'data' ? knownData : knownResources
        problems.push(
          known.has(type)
            ? `${file}: ${context.where}: ${type} is a provider type the committed schema does not record: ${REGENERATE}`
            : !type.startsWith('aws_')
              ? `${file}: ${context.where}: ${type} is not an AWS provider type, and the schema records only that provider`
              : `${file}: ${context.where}: unknown ${kind === 'data' ? 'data source' : 'resource'} type "${type}" (AWS provider 5.99.1)`,
        )
        continue
      }
      if (body.count !== undefined && body.for_each !== undefined) {
        problems.push(`${file}: ${context.where}: count and for_each together`)
      }
      if (Array.isArray(body.for_each)) {
        // A dynamic block iterates a list; a resource needs keys that stay put: a map or toset().
        problems.push(
          `${file}: ${context.where}: for_each takes a map or a set, given a list (toset() it)`,
        )
      }
      if (body.count !== undefined && !literalFits(body.count, 'number')) {
        problems.push(
          `${file}: ${context.where}: count takes a number, given ${describe(body.count)}`,
        )
      }
      if (body.lifecycle !== undefined) checkLifecycle(body.lifecycle, context, kind)
      checkBody(body, typeSchema, context, {
        arguments: RESOURCE_META,
        blocks: kind === 'data' ? DATA_META_BLOCKS : RESOURCE_META_BLOCKS,
      })
    }
  }

  const checkReferences = (
    file: string,
    where: string,
    value: Json,
    scope: { each: boolean; count: boolean },
  ) => {
    for (const text of stringsUnder(value)) {
      for (const code of expressionsIn(text)) {
        for (const ref of referencesIn(code)) {
          const report = (message: string) => problems.push(`${file}: ${where}: ${message}`)
          if (ref.kind === 'var' && !variables.has(ref.name)) {
            report(`reference to undeclared variable var.${ref.name}`)
          } else if (ref.kind === 'local' && !locals.has(ref.name)) {
            report(`reference to undeclared local value local.${ref.name}`)
          } else if (ref.kind === 'module' && !modules.has(ref.name)) {
            report(`reference to undeclared module module.${ref.name}`)
          } else if (ref.kind === 'each' && !scope.each) {
            report(`each.${ref.name} outside a for_each`)
          } else if (ref.kind === 'count' && !scope.count) {
            report(`count.${ref.name} outside a count`)
          } else if (ref.kind === 'resource' || ref.kind === 'data') {
            const address = `${ref.kind === 'data' ? 'data.' : ''}${ref.type}.${ref.name}`
            const instance = instances.get(address)
            if (!instance) {
              report(
                `reference to undeclared ${ref.kind === 'data' ? 'data source' : 'resource'} ${address}`,
              )
              continue
            }
            if (ref.attribute === undefined) continue
            if (instance.repeated && !ref.indexed) {
              report(`${address} has count or for_each: ${address}.${ref.attribute} needs an index`)
            } else if (!instance.repeated && ref.indexed) {
              report(`${address} has neither count nor for_each: it takes no index`)
            }
            const types = ref.kind === 'data' ? schema.data_sources : schema.resources
            const typeSchema = types[ref.type as string]
            if (typeSchema && !hasAttribute(typeSchema, ref.attribute)) {
              report(`${address} has no attribute "${ref.attribute}"`)
            }
          }
        }
      }
    }
  }

  for (const { file, json } of files) {
    for (const block of [json.locals ?? []].flat()) {
      checkReferences(file, 'locals', block, { each: false, count: false })
    }
    for (const [name, bodies] of Object.entries((json.output ?? {}) as Record<string, Json>)) {
      checkReferences(file, `output "${name}"`, bodies, { each: false, count: false })
    }
    for (const [name, bodies] of Object.entries((json.variable ?? {}) as Record<string, Json>)) {
      checkReferences(file, `variable "${name}"`, bodies, { each: false, count: false })
    }
    for (const [name, bodies] of Object.entries((json.provider ?? {}) as Record<string, Json>)) {
      checkReferences(file, `provider "${name}"`, bodies, { each: false, count: false })
    }
  }
  for (const kind of ['resource', 'data'] as const) {
    for (const { file, type, name, body } of declared(files, kind)) {
      const where = `${kind === 'data' ? 'data ' : ''}${type}.${name}`
      checkReferences(file, where, body, {
        each: body.for_each !== undefined,
        count: body.count !== undefined,
      })
      if (body.provider !== undefined) {
        const provider = /^\$\{([A-Za-z0-9_.-]+)\}$/.exec(String(body.provider))?.[1]
        if (!provider || !providerAliases.has(provider)) {
          problems.push(`${file}: ${where}: provider ${body.provider} is not configured`)
        }
      }
    }
  }
  return problems
}

function hasAttribute(schema: TypeSchema, name: string): boolean {
  return (
    name === 'id' ||
    name in (schema.arguments ?? {}) ||
    name in (schema.blocks ?? {}) ||
    (schema.computed ?? []).includes(name)
  )
}
