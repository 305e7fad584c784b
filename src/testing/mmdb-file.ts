import { writeFileSync } from 'node:fs'
import { isIPv4 } from 'node:net'

/**
 * A small MMDB database written for tests (the format MaxMind documents: an IPv6 search tree
 * of 24-bit records, 16 zero bytes, the data section, the metadata after its marker), so the
 * city database path runs over a real file where GeoLite2-City cannot be shipped. Values are
 * strings, maps and arrays of fewer than 29 entries or bytes; that is all a city record needs.
 */
export type MmdbValue = string | MmdbValue[] | { [key: string]: MmdbValue }

interface TreeNode {
  children: [Child, Child]
}
type Child = TreeNode | { data: number } | undefined

export function writeMmdbFile(
  file: string,
  networks: { network: string; record: { [key: string]: MmdbValue } }[],
): void {
  const data: Buffer[] = []
  let dataSize = 0
  const root: TreeNode = { children: [undefined, undefined] }
  for (const { network, record } of networks) {
    const encoded = encode(record)
    const offset = dataSize
    data.push(encoded)
    dataSize += encoded.length
    const [address, length] = network.split('/') as [string, string]
    const bits = addressBits(address)
    const prefix = Number(length) + (isIPv4(address) ? 96 : 0)
    let node = root
    for (let depth = 0; depth < prefix; depth++) {
      const bit = bits[depth] as 0 | 1
      if (depth === prefix - 1) {
        node.children[bit] = { data: offset }
      } else {
        const next = node.children[bit]
        if (next && 'data' in next) throw new Error(`${network} lies inside an earlier network`)
        node = next ?? (node.children[bit] = { children: [undefined, undefined] })
      }
    }
  }

  const nodes: TreeNode[] = []
  const numbers = new Map<TreeNode, number>()
  const visit = (node: TreeNode) => {
    numbers.set(node, nodes.length)
    nodes.push(node)
    for (const child of node.children) if (child && 'children' in child) visit(child)
  }
  visit(root)
  const nodeCount = nodes.length
  const record = (child: Child) =>
    child === undefined
      ? nodeCount
      : 'data' in child
        ? nodeCount + 16 + child.data
        : (numbers.get(child) as number)
  const tree = Buffer.alloc(nodeCount * 6)
  nodes.forEach((node, i) => {
    tree.writeUIntBE(record(node.children[0]), i * 6, 3)
    tree.writeUIntBE(record(node.children[1]), i * 6 + 3, 3)
  })

  const metadata = Buffer.concat([
    Buffer.from([0xe0 | 9]),
    encode('node_count'),
    uint(6, nodeCount),
    encode('record_size'),
    uint(5, 24),
    encode('ip_version'),
    uint(5, 6),
    encode('binary_format_major_version'),
    uint(5, 2),
    encode('binary_format_minor_version'),
    uint(5, 0),
    encode('build_epoch'),
    uint(6, 1_700_000_000),
    encode('database_type'),
    encode('Test-City'),
    encode('languages'),
    encode(['en']),
    encode('description'),
    encode({ en: 'test' }),
  ])
  writeFileSync(
    file,
    Buffer.concat([
      tree,
      Buffer.alloc(16),
      ...data,
      Buffer.from('ABCDEF4D61784D696E642E636F6D', 'hex'),
      metadata,
    ]),
  )
}

function encode(value: MmdbValue): Buffer {
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8')
    return Buffer.concat([control(2, bytes.length), bytes])
  }
  if (Array.isArray(value)) {
    if (value.length >= 29) throw new Error('an array of 29 or more entries')
    // Arrays are an extended type: type 0 in the control byte, 11 - 7 in the next.
    return Buffer.concat([Buffer.from([value.length, 4]), ...value.map(encode)])
  }
  const entries = Object.entries(value)
  return Buffer.concat([
    control(7, entries.length),
    ...entries.flatMap(([key, entry]) => [encode(key), encode(entry)]),
  ])
}

function control(type: number, size: number): Buffer {
  if (size >= 29) throw new Error('a value of 29 or more bytes or entries')
  return Buffer.from([(type << 5) | size])
}

/** An unsigned integer of type 5 (uint16) or 6 (uint32), in 4 bytes at most. */
function uint(type: 5 | 6, n: number): Buffer {
  const bytes = Buffer.alloc(4)
  bytes.writeUInt32BE(n)
  const first = bytes.findIndex((b) => b !== 0)
  const trimmed = first < 0 ? Buffer.alloc(0) : bytes.subarray(first)
  return Buffer.concat([control(type, trimmed.length), trimmed])
}

/** The address's 128 bits, an IPv4 one as ::a.b.c.d (the tree's IPv4 subtree). */
function addressBits(address: string): number[] {
  const bytes = Buffer.alloc(16)
  if (isIPv4(address)) {
    address.split('.').forEach((part, i) => {
      bytes[12 + i] = Number(part)
    })
  } else {
    const [head = '', tail = ''] = address.split('::')
    const left = head ? head.split(':') : []
    const right = tail ? tail.split(':') : []
    const groups = [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    groups.forEach((group, i) => {
      bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2)
    })
  }
  return [...bytes].flatMap((byte) => Array.from({ length: 8 }, (_, i) => (byte >> (7 - i)) & 1))
}
