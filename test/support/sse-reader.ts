export interface SseMessage {
  /** "" for a comment line such as `: ping`. */
  event: string
  data: string
  comment?: string
}

/** Reads a text/event-stream body message by message, as a browser's EventSource would. */
export function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''

  /** The next message, or undefined when the stream has ended. */
  async function next(): Promise<SseMessage | undefined> {
    for (;;) {
      const end = buffer.indexOf('\n\n')
      if (end >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        return parse(block)
      }
      const { done, value } = await reader.read()
      if (done) return undefined
      buffer += value
    }
  }

  /** The next message with this event name, skipping comments and other events. */
  async function nextEvent(name: string): Promise<SseMessage> {
    for (;;) {
      const message = await next()
      if (!message) throw new Error(`stream ended before a "${name}" event`)
      if (message.event === name) return message
    }
  }

  return { next, nextEvent, cancel: () => reader.cancel().catch(() => {}) }
}

function parse(block: string): SseMessage {
  const message: SseMessage = { event: '', data: '' }
  const data: string[] = []
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) message.comment = line.slice(1).trim()
    else if (line.startsWith('event:')) message.event = line.slice(6).trim()
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''))
  }
  message.data = data.join('\n')
  if (!message.event && data.length) message.event = 'message'
  return message
}
