/**
 * Writes infra/terraform/schema/aws-5.99.1.json: the AWS provider's schema for the resource
 * and data source types infra/terraform uses, which test/terraform-schema.test.ts holds the
 * Terraform against offline. The schema comes from the jsii assembly of the CDK for
 * Terraform bindings, @cdktf/provider-aws@19.65.1 (built from provider 5.99.1), the one form
 * of it npm carries; the package is 360 MB, so it is fetched outside the project:
 *
 *   mkdir -p /tmp/cdktf-aws && cd /tmp/cdktf-aws && npm pack @cdktf/provider-aws@19.65.1
 *   tar xzf cdktf-provider-aws-19.65.1.tgz package/.jsii
 *   npx tsx scripts/terraform-schema.ts /tmp/cdktf-aws/package/.jsii
 *
 * Run it again after adding a resource or data source type to infra/terraform. `--also
 * aws_x,data.aws_y` records types the Terraform does not use yet (another branch's, before
 * the merge).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  type BlockSchema,
  type NestedBlockSchema,
  type ProviderSchema,
  readTerraform,
  SCHEMA_FILE,
  type TypeSchema,
  typesUsed,
} from '../test/support/terraform-schema.ts'

const VERSION = '5.99.1'
const PACKAGE = '@cdktf/provider-aws@19.65.1'

interface TypeRef {
  primitive?: string
  fqn?: string
  collection?: { kind: 'array' | 'map'; elementtype: TypeRef }
  union?: { types: TypeRef[] }
}
interface Property {
  name: string
  type: TypeRef
  optional?: boolean
  static?: boolean
  docs?: { summary?: string; remarks?: string }
}
interface JsiiType {
  fqn: string
  kind: 'class' | 'interface' | 'enum'
  datatype?: boolean
  base?: string
  interfaces?: string[]
  docs?: { summary?: string }
  initializer?: { parameters?: { name: string; type: TypeRef }[] }
  properties?: Property[]
}

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: { also: { type: 'string', default: '' } },
})
const [assemblyPath, output = SCHEMA_FILE] = positionals
if (!assemblyPath) {
  console.error(
    'usage: npx tsx scripts/terraform-schema.ts <path to .jsii> [output.json] [--also aws_x,data.aws_y]',
  )
  process.exit(2)
}
const also = options.also.split(',').filter(Boolean)
const assembly = JSON.parse(readFileSync(assemblyPath, 'utf8')) as {
  name: string
  version: string
  types: Record<string, JsiiType>
}
if (`${assembly.name}@${assembly.version}` !== PACKAGE) {
  throw new Error(`expected the assembly of ${PACKAGE}, got ${assembly.name}@${assembly.version}`)
}
const types = assembly.types

const snake = (camel: string) => camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/**
 * The Terraform name of a property. The bindings rename some (`self` → selfAttribute,
 * `equals` → equalTo, `address_line_1` → addressLine1), and their docs link to the
 * registry with the Terraform name as the anchor; camelCase back to snake_case is the
 * fallback for the provider's own block, whose docs often carry no link.
 */
function terraformName(property: Property): string {
  const docs = `${property.docs?.summary ?? ''}${property.docs?.remarks ?? ''}`
  const anchor =
    /registry\.terraform\.io\/providers\/hashicorp\/aws\/[^/]+\/docs[^#\s}]*#([a-z0-9_]+)[\s}]/.exec(
      docs,
    )
  return anchor?.[1] ?? snake(property.name)
}

/** The type with the bindings' escape hatch (IResolvable: any expression) taken out. */
function unwrap(type: TypeRef): TypeRef {
  if (!type.union) return type
  const rest = type.union.types.filter((t) => t.fqn !== 'cdktf.IResolvable')
  return rest.length === 1 ? unwrap(rest[0] as TypeRef) : { primitive: 'any' }
}

const isStruct = (type: TypeRef) => Boolean(type.fqn && types[type.fqn]?.datatype)

function terraformType(type: TypeRef): string {
  const t = unwrap(type)
  if (t.primitive === 'string') return 'string'
  if (t.primitive === 'number') return 'number'
  if (t.primitive === 'boolean') return 'bool'
  if (t.collection) {
    const kind = t.collection.kind === 'array' ? 'list' : 'map'
    return `${kind}(${terraformType(t.collection.elementtype)})`
  }
  return 'any'
}

/** A struct's properties, its own and those of the structs it extends within the assembly. */
function propertiesOf(fqn: string): Property[] {
  const type = types[fqn]
  if (!type) throw new Error(`no type ${fqn}`)
  const inherited = (type.interfaces ?? []).filter((i) => types[i]).flatMap((i) => propertiesOf(i))
  return [...inherited, ...(type.properties ?? [])]
}

function blockSchema(fqn: string, seen: string[] = []): BlockSchema {
  if (seen.includes(fqn)) throw new Error(`recursive block ${[...seen, fqn].join(' > ')}`)
  const schema: Required<BlockSchema> = { arguments: {}, required: [], blocks: {} }
  for (const property of propertiesOf(fqn)) {
    const name = terraformName(property)
    const type = unwrap(property.type)
    const element = type.collection?.elementtype
    const saysBlock = /\bblock\.$/.test(property.docs?.summary ?? '')
    let nested: NestedBlockSchema | undefined
    if (isStruct(type)) {
      nested = { nesting: 'single', ...blockSchema(type.fqn as string, [...seen, fqn]) }
    } else if (element && isStruct(element) && type.collection?.kind === 'array') {
      nested = { nesting: 'list', ...blockSchema(element.fqn as string, [...seen, fqn]) }
    } else if (saysBlock && type.primitive === 'any') {
      // The bindings stop typing deep recursive trees (the WAF's statements) here.
      nested = { nesting: 'opaque' }
    } else if (element && isStruct(element)) {
      throw new Error(`${fqn}.${property.name}: a map of blocks, not handled`)
    }
    if (nested) {
      if (!saysBlock) nested.attribute = true
      schema.blocks[name] = nested
    } else {
      schema.arguments[name] = terraformType(property.type)
    }
    if (!property.optional) schema.required.push(name)
  }
  return compact(schema)
}

/** Sorted keys and no empty members: the same assembly always gives the same file. */
function compact<T extends BlockSchema>(schema: T): T {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (Array.isArray(value)) {
      if (value.length) out[key] = [...value].sort()
    } else if (value && typeof value === 'object') {
      if (Object.keys(value).length) out[key] = sortKeys(value as Record<string, unknown>)
    } else {
      out[key] = value
    }
  }
  return out as T
}

const sortKeys = <V>(object: Record<string, V>) =>
  Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))

/** Resource, data source and provider classes by their Terraform type name. */
function terraformClasses(base: string): Map<string, JsiiType> {
  const found = new Map<string, JsiiType>()
  for (const type of Object.values(types)) {
    if (type.kind !== 'class' || type.base !== base) continue
    const name = /\{@link \S+ ([a-z0-9_]+)\}/.exec(type.docs?.summary ?? '')?.[1]
    if (!name) throw new Error(`${type.fqn}: no Terraform type name in its docs`)
    if (found.has(name)) throw new Error(`${name}: two classes`)
    found.set(name, type)
  }
  return found
}

function configOf(type: JsiiType): string {
  const config = type.initializer?.parameters?.find((p) => p.name === 'config')?.type.fqn
  if (!config) throw new Error(`${type.fqn}: no config struct`)
  return config
}

function typeSchema(type: JsiiType): TypeSchema {
  const schema: TypeSchema = blockSchema(configOf(type))
  const settable = new Set([
    ...Object.keys(schema.arguments ?? {}),
    ...Object.keys(schema.blocks ?? {}),
  ])
  // The class's getters are the attributes: the arguments again, `…Input` twins of them,
  // and what only the provider sets.
  const computed = (type.properties ?? [])
    .filter((p) => !p.static && !p.name.endsWith('Input'))
    .map((p) => snake(p.name))
    .filter((name) => !settable.has(name))
  return compact({ ...schema, computed })
}

const resources = terraformClasses('cdktf.TerraformResource')
const dataSources = terraformClasses('cdktf.TerraformDataSource')
const provider = terraformClasses('cdktf.TerraformProvider').get('aws')
if (!provider) throw new Error('no provider class')

const inUse = typesUsed(await readTerraform(join(import.meta.dirname, '..', 'infra', 'terraform')))
const used = {
  resources: [...new Set([...inUse.resources, ...also.filter((t) => !t.startsWith('data.'))])],
  data: [
    ...new Set([
      ...inUse.data,
      ...also.filter((t) => t.startsWith('data.')).map((t) => t.slice('data.'.length)),
    ]),
  ],
}
used.resources.sort()
used.data.sort()
const pick = (classes: Map<string, JsiiType>, names: string[], kind: string) =>
  Object.fromEntries(
    names.map((name) => {
      const type = classes.get(name)
      if (!type) throw new Error(`${kind} ${name} is unknown to ${PACKAGE}`)
      return [name, typeSchema(type)]
    }),
  )

const schema: ProviderSchema = {
  provider: 'registry.terraform.io/hashicorp/aws',
  version: VERSION,
  source: `${PACKAGE} (.jsii), scripts/terraform-schema.ts`,
  resource_types: [...resources.keys()].sort(),
  data_source_types: [...dataSources.keys()].sort(),
  provider_config: blockSchema(configOf(provider)),
  resources: pick(resources, used.resources, 'resource'),
  data_sources: pick(dataSources, used.data, 'data source'),
}

mkdirSync(dirname(output), { recursive: true })
writeFileSync(output, `${JSON.stringify(schema, null, 2)}\n`)
// Formatted as `npm run lint` wants it, so a regenerated file is committed as written.
execFileSync('npx', ['biome', 'format', '--write', output], { stdio: 'inherit' })
console.log(
  `${output}: ${used.resources.length} resource and ${used.data.length} data source types`,
)
